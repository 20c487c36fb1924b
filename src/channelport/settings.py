"""Installation settings, read once from the environment and validated at start-up."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """`CHANNELPORT_HOME` holds the SQLite database and the secret key by default."""

    model_config = SettingsConfigDict(env_prefix="CHANNELPORT_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("channelport")))
    database_url: str | None = None
    secret_key: str | None = None
    lease_seconds: float = 120.0

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'channelport.db'}"

    @property
    def secret_key_file(self) -> Path:
        return self.home / "secret.key"
