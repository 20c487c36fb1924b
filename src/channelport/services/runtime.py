"""What every service call needs: settings, the engine, the secret box and a clock.

The clock is injectable so that tests can stand at any instant without patching.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property

from sqlalchemy import Engine

from channelport.crypto import SecretBox, load_key
from channelport.errors import UsageError
from channelport.settings import Settings, load_settings
from channelport.store import migrate
from channelport.store.db import make_engine


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    clock: Callable[[], datetime] = field(default=utc_now)

    @cached_property
    def box(self) -> SecretBox:
        return SecretBox(load_key(self.settings))

    def now(self) -> datetime:
        return self.clock()

    def close(self) -> None:
        self.engine.dispose()


def open_runtime(settings: Settings | None = None, *, clock: Callable[[], datetime] = utc_now) -> Runtime:
    """Open an initialized installation; refuses one that `init` has not migrated."""
    settings = settings or load_settings()
    engine = make_engine(settings.effective_database_url)
    current = migrate.current_revision(engine)
    if current != migrate.HEAD_REVISION:
        engine.dispose()
        what = "is not initialized" if current is None else "needs a migration"
        raise UsageError(f"the database {what}; run `channelport init` first")
    return Runtime(settings=settings, engine=engine, clock=clock)
