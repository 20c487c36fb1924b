"""/accounts: the sales channel management (Verkaufskanalverwaltung) as JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from channelport.domain.accounts import Account
from channelport.services import accounts
from channelport.web.api.common import AccountName
from channelport.web.deps import RuntimeDep
from channelport.web.schemas import AccountCreate, AccountEdit, AccountOut, LockRequest, Removed

router = APIRouter(tags=["accounts"])


def account_out(a: Account) -> AccountOut:
    """The account as shown; the credentials are not part of `Account` at all."""
    return AccountOut(
        name=a.name, kind=a.kind, url=a.url, seller_id=a.seller_id, timezone=a.timezone, active=a.active,
        locked=a.locked, lock_reason=a.lock_reason, status=a.status, credentials_rejected=a.credentials_rejected,
        last_sync_at=a.last_sync_at, last_sync_status=a.last_sync_status, last_success_at=a.last_success_at,
        settings=dict(a.settings),
    )


@router.get("/accounts", response_model=list[AccountOut], summary="All accounts")
def list_accounts(rt: RuntimeDep) -> list[AccountOut]:
    return [account_out(a) for a in accounts.list_accounts(rt)]


@router.post("/accounts", response_model=AccountOut, status_code=201, summary="Connect an account")
def create_account(rt: RuntimeDep, body: AccountCreate) -> AccountOut:
    return account_out(
        accounts.add_account(
            rt, name=body.name, kind=body.kind, url=body.url, seller_id=body.seller_id, token=body.token,
            timezone=body.timezone, settings=body.settings, secrets=body.secrets,
        )
    )


@router.get("/accounts/{name}", response_model=AccountOut, summary="One account")
def get_account(rt: RuntimeDep, name: AccountName) -> AccountOut:
    return account_out(accounts.get_account(rt, name))


@router.patch("/accounts/{name}", response_model=AccountOut, summary="Edit an account")
def edit_account(rt: RuntimeDep, name: AccountName, body: AccountEdit) -> AccountOut:
    return account_out(
        accounts.edit_account(
            rt, name, url=body.url, seller_id=body.seller_id, token=body.token, timezone=body.timezone,
            settings=body.settings, secrets=body.secrets,
        )
    )


@router.post("/accounts/{name}/activate", response_model=AccountOut, summary="Activate")
def activate(rt: RuntimeDep, name: AccountName) -> AccountOut:
    return account_out(accounts.set_active(rt, name, active=True))


@router.post("/accounts/{name}/deactivate", response_model=AccountOut, summary="Deactivate")
def deactivate(rt: RuntimeDep, name: AccountName) -> AccountOut:
    return account_out(accounts.set_active(rt, name, active=False))


@router.post("/accounts/{name}/lock", response_model=AccountOut, summary="Lock the sync, with a reason")
def lock(rt: RuntimeDep, name: AccountName, body: LockRequest) -> AccountOut:
    return account_out(accounts.lock_account(rt, name, reason=body.reason))


@router.post("/accounts/{name}/unlock", response_model=AccountOut, summary="Unlock the sync")
def unlock(rt: RuntimeDep, name: AccountName) -> AccountOut:
    return account_out(accounts.unlock_account(rt, name))


@router.delete("/accounts/{name}", response_model=Removed, summary="Remove an account")
def remove(
    rt: RuntimeDep,
    name: AccountName,
    delete_orders: Annotated[bool, Query(alias="deleteOrders", description="remove its orders too")] = False,
) -> Removed:
    return Removed(name=name, orders_deleted=accounts.remove_account(rt, name, delete_orders=delete_orders))
