"""The HTML interface: server-rendered pages calling the same services as the CLI."""
