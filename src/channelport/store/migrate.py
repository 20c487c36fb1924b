"""Create or upgrade the schema through Alembic, from the first table on.

Every command opens the database and checks that its schema is current; that check
reads the version table with one query against `HEAD_REVISION`, so a `channelport
sync` does not import Alembic and parse the migration scripts (a quarter of a second
of start-up). A test keeps the constant equal to the scripts' head.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
HEAD_REVISION = "0005"  # the newest script in migrations/versions (tests/store/test_schema.py checks it)


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The head as the migration scripts say (slow: imports Alembic); HEAD_REVISION is its copy."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The database's revision; None before `init` (no version table yet)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Migrate to the newest revision; returns (before, after). A no-op when up to date."""
    from alembic import command

    before = current_revision(engine)
    after = head_revision()
    if before != after:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return before, after
