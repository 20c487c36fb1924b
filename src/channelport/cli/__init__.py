"""The command line: parse, call one service, render. Nothing else lives here."""

from channelport.cli.app import app, main

__all__ = ["app", "main"]
