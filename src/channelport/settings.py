"""Installation settings, read once from the environment and validated at start-up."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import platformdirs
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from channelport.errors import UsageError


class Settings(BaseSettings):
    """`CHANNELPORT_HOME` holds the SQLite database and the secret key by default."""

    model_config = SettingsConfigDict(env_prefix="CHANNELPORT_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("channelport")))
    database_url: str | None = None
    secret_key: str | None = None
    lease_seconds: float = 120.0
    # Orders plus their items one sync keeps between pages (services/known_orders.py),
    # about 0.45 KB each: 150,000 is some 70 MB, 41,000 orders of 2.65 items. Smaller
    # trades backfill speed for memory (bench/README.md).
    order_cache: int = Field(default=150_000, ge=0)

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'channelport.db'}"

    @property
    def secret_key_file(self) -> Path:
        return self.home / "secret.key"


def load_settings() -> Settings:
    """The settings from the environment; a value that does not fit is a usage error.

    Named by its variable, in one line, so an operator sees which line of the unit's
    environment file to mend instead of a validation traceback.
    """
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "CHANNELPORT_" + "_".join(str(part) for part in error["loc"]).upper()
            problems.append(f"{name}={error.get('input')!r}: {error['msg']}")
        raise UsageError("bad setting in the environment: " + "; ".join(problems)) from None
