"""Use cases. The CLI and the web layer call these and nothing below them."""
