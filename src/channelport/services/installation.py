"""`channelport init` and the edition: the installation itself."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import make_url

from channelport.crypto import load_key
from channelport.domain.accounts import KNOWN_PACKAGES, ORDER_PACKAGE, parse_packages
from channelport.errors import SyncRefused, UsageError
from channelport.services.runtime import Runtime, utc_now
from channelport.settings import Settings, load_settings
from channelport.store import accounts as repo
from channelport.store import migrate
from channelport.store.db import make_engine, read_only, unit_of_work


@dataclass(frozen=True)
class InitResult:
    database: str
    revision_before: str | None
    revision_after: str
    key_created: bool
    key_location: str

    @property
    def changed(self) -> bool:
        return self.revision_before != self.revision_after or self.key_created


def init_installation(settings: Settings | None = None) -> InitResult:
    """Create or migrate the database and the secret key; a no-op when both are current."""
    settings = settings or load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    key_existed = bool(settings.secret_key) or settings.secret_key_file.exists()
    load_key(settings, create=True)
    engine = make_engine(settings.effective_database_url)
    try:
        before, after = migrate.upgrade(engine)
        with unit_of_work(engine) as conn:
            if repo.load_packages(conn) is None:
                repo.save_packages(conn, {ORDER_PACKAGE}, now=utc_now())
    finally:
        engine.dispose()
    return InitResult(
        database=make_url(settings.effective_database_url).render_as_string(hide_password=True),
        revision_before=before,
        revision_after=after,
        key_created=not key_existed,
        key_location="CHANNELPORT_SECRET_KEY" if settings.secret_key else str(settings.secret_key_file),
    )


def show_packages(rt: Runtime) -> frozenset[str]:
    with read_only(rt.engine) as conn:
        return repo.load_packages(conn) or frozenset()


def set_packages(rt: Runtime, *, packages: str) -> frozenset[str]:
    try:
        chosen = parse_packages(packages)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with unit_of_work(rt.engine) as conn:
        repo.save_packages(conn, chosen, now=rt.now())
    return chosen


def require_order_package(packages: frozenset[str]) -> None:
    if ORDER_PACKAGE not in packages:
        raise SyncRefused(
            f"the edition lacks the {KNOWN_PACKAGES[ORDER_PACKAGE]}; "
            "book it and run `channelport edition set --packages orders`"
        )
