"""Channel accounts, the edition and the lease, through the services, on both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from channelport.errors import Conflict, NotFound, UsageError
from channelport.services import accounts, installation
from channelport.store import accounts as repo
from channelport.store.db import unit_of_work
from channelport.store.tables import channel_accounts

TOKEN = "tok-Very-Secret-4711-abcdef"


def add(rt, name="kaufland-main", **overrides):
    values = dict(name=name, kind="event-api", url="http://127.0.0.1:9/", seller_id="S-1001", token=TOKEN)
    values.update(overrides)
    return accounts.add_account(rt, **values)


def test_add_list_show_edit(rt):
    added = add(rt)
    assert (added.name, added.kind, added.url, added.seller_id, added.timezone) == (
        "kaufland-main", "event-api", "http://127.0.0.1:9", "S-1001", "Europe/Berlin",
    )
    assert added.status == "active"
    add(rt, name="otto", timezone="Europe/Vienna")
    assert [a.name for a in accounts.list_accounts(rt)] == ["kaufland-main", "otto"]
    edited = accounts.edit_account(rt, "otto", seller_id="S-2", timezone="UTC")
    assert (edited.seller_id, edited.timezone) == ("S-2", "UTC")


def test_duplicate_name_unknown_kind_and_bad_values_are_refused(rt):
    add(rt)
    with pytest.raises(Conflict, match="exists already"):
        add(rt)
    with pytest.raises(NotFound, match="known kinds: .*event-api"):
        add(rt, name="x", kind="no-such-kind")
    with pytest.raises(UsageError, match="time zone"):
        add(rt, name="y", timezone="Mars/Olympus")
    with pytest.raises(UsageError, match="URL"):
        add(rt, name="z", url="ftp://nope")
    with pytest.raises(UsageError, match="account name"):
        add(rt, name="bad name!")
    with pytest.raises(NotFound, match="unknown account 'ghost'.*kaufland-main"):
        accounts.get_account(rt, "ghost")
    assert [a.name for a in accounts.list_accounts(rt)] == ["kaufland-main"]


def test_lock_activate_and_status(rt):
    add(rt)
    locked = accounts.lock_account(rt, "kaufland-main", reason="inventory count")
    assert (locked.locked, locked.lock_reason, locked.status) == (True, "inventory count", "locked")
    with pytest.raises(UsageError):
        accounts.lock_account(rt, "kaufland-main", reason="  ")
    assert accounts.unlock_account(rt, "kaufland-main").status == "active"
    assert accounts.set_active(rt, "kaufland-main", active=False).status == "inactive"


def test_remove_is_refused_while_orders_exist(rt, clock):
    account = add(rt)
    with unit_of_work(rt.engine) as conn:
        conn.execute(
            text(
                "INSERT INTO orders (account_id, order_id, seller_id, status, shown_status, purchased_at, "
                "last_changed_at, currency, status_at, billing_at, shipping_at, buyer_at, imported_at, updated_at) "
                "VALUES (:a, 'O-1', 'S-1001', 'CREATED', 'CREATED', :t, :t, 'EUR', :t, :t, :t, :t, :t, :t)"
            ),
            {"a": account.id, "t": clock().replace(tzinfo=None)},
        )
    with pytest.raises(Conflict, match="1 imported orders.*--delete-orders"):
        accounts.remove_account(rt, "kaufland-main")
    assert accounts.remove_account(rt, "kaufland-main", delete_orders=True) == 1
    assert accounts.list_accounts(rt) == []


def test_the_token_is_encrypted_and_decrypts_for_the_connector(rt, database_url, home):
    account = add(rt)
    with unit_of_work(rt.engine) as conn:
        stored = conn.scalar(select(channel_accounts.c.credentials))
        config = accounts.connector_config(rt, conn, account)
        dump = "\n".join(str(tuple(row)) for row in conn.execute(select(channel_accounts)))
    assert TOKEN not in stored and TOKEN not in dump
    assert config.token == TOKEN
    if database_url.startswith("sqlite"):
        rt.engine.dispose()
        for path in home.parent.glob("channelport.db*"):
            assert TOKEN.encode() not in path.read_bytes(), path


def test_edition_and_order_package(rt):
    assert installation.show_packages(rt) == {"orders"}
    assert installation.set_packages(rt, packages="none") == frozenset()
    with pytest.raises(UsageError, match="unknown package"):
        installation.set_packages(rt, packages="orders,teleport")
    assert installation.show_packages(rt) == frozenset()


def test_the_lease_admits_one_owner_until_it_expires(rt, clock):
    account = add(rt)
    now = clock()
    with unit_of_work(rt.engine) as conn:
        assert repo.take_lease(conn, account.id, owner="a", now=now, until=now + timedelta(seconds=60))
        assert not repo.take_lease(conn, account.id, owner="b", now=now, until=now + timedelta(seconds=60))
        later = now + timedelta(seconds=61)
        assert repo.take_lease(conn, account.id, owner="b", now=later, until=later + timedelta(seconds=60))
        assert not repo.renew_lease(conn, account.id, owner="a", until=later)
        repo.release_lease(conn, account.id, owner="b")
        assert repo.lease_holder(conn, account.id, now=later) is None


def test_an_account_whose_sync_was_stopped_is_due_at_once(rt):
    from channelport.store import workers as workers_repo

    one, two = add(rt, name="one"), add(rt, name="two")
    now = rt.now()
    with unit_of_work(rt.engine) as conn:
        for account, status in ((one, "succeeded"), (two, "stopped")):
            conn.execute(channel_accounts.update().where(channel_accounts.c.id == account.id)
                         .values(last_sync_at=now - timedelta(seconds=5), last_sync_status=status,
                                 subscription_changed=False))
        due = workers_repo.due_account_ids(conn, now=now, synced_before=now - timedelta(seconds=60))
    assert due == [two.id]  # synced five seconds ago: only the one cut short goes on before its interval
