"""The web layer: REST API and HTML interface in one FastAPI app (`create_app`)."""

from channelport.web.app import create_app

__all__ = ["create_app"]
