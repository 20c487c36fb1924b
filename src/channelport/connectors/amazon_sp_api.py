"""The `amazon-sp-api` connector kind: Amazon Selling Partner API, Orders v0, polled.

`pull` lists `getOrders` with `LastUpdatedAfter` / `LastUpdatedBefore` (the window of
the polling cursor, ending at least two minutes before Amazon's clock, as the API
demands), `MarketplaceIds` and `NextToken` pages of up to 100 orders. Each listed order
that is to be imported is completed with `getOrderItems` (its lines and the buyer's
cancellation requests; a listing carries no items) and, where its status exposes the
shipping address and the listing did not include it, `getOrderAddress`, then handed to
the engine as an `OrderSeen` snapshot. Listings go with a Restricted Data Token where
Amazon grants one (setting `restricted_data`), so that they carry complete addresses.
Because the item and address calls have their own usage plans, a listed page is handed
out in batches of `orders_per_batch` orders, each committed before the next is fetched.

Account: `--url` the regional SP-API endpoint, `--seller-id` the merchant token,
`--token-env` the LWA refresh token; `--set marketplace_ids=ID[,ID]`,
`--set lwa_client_id=...`, `--set lwa_token_url=...` (default Amazon's) and
`--secret lwa_client_secret=ENVVAR`. See docs/connectors.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlparse

import httpx
from pydantic import BaseModel, Field, field_validator

from channelport.connectors.amazon_sp_api_client import (
    DEFAULT_LWA_TOKEN_URL,
    ENDPOINTS,
    LWA_LIMIT,
    USAGE_PLANS,
    AmazonClient,
    LwaCredentials,
)
from channelport.connectors.amazon_sp_api_mapping import (
    MARKETPLACES,
    BadRecord,
    is_importable,
    needs_address,
    order_key,
    parse_order,
    problem,
    snapshot,
)
from channelport.connectors.base import AccountConfig, Received
from channelport.connectors.polling import (
    HttpSettings,
    Page,
    PollingConnector,
    PollingSettings,
    RateLimiter,
    RecordKey,
    RequestRefused,
    Scan,
    require_http_url,
    require_secret,
    shared_limiter,
    validate_settings,
    whole_seconds,
)
from channelport.errors import ConnectorError, UsageError

log = logging.getLogger(__name__)

KIND = "amazon-sp-api"
MIN_SETTLE_SECONDS = 120.0  # "LastUpdatedBefore must be ... at least two minutes before current time"


class _AmazonAccount(BaseModel):
    """The account's own settings; listed first by `channelport connectors`."""

    marketplace_ids: list[str] = Field(
        min_length=1, max_length=50, description="the marketplaces to import, e.g. A1PA6795UKMFR9 (Amazon.de)"
    )
    lwa_client_id: str = Field(min_length=1, description="the LWA client id of the SP-API app")
    lwa_token_url: str = Field(DEFAULT_LWA_TOKEN_URL, description="the Login with Amazon token endpoint")
    import_pending: bool = Field(
        False, description="also import Pending orders, which carry no prices until payment is authorized"
    )
    orders_per_batch: int = Field(20, ge=1, le=100, description="orders completed and committed together")
    restricted_data: bool = Field(
        True,
        description="list with a Restricted Data Token, for names, street lines and phone in addresses "
        "(needs the Direct-to-Consumer Shipping role)",
    )

    @field_validator("marketplace_ids", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        """`--set marketplace_ids=ID,ID` arrives as one string."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("marketplace_ids")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("lwa_token_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if urlparse(value).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL")
        return value


class AmazonSettings(PollingSettings, _AmazonAccount):
    """Settings of an `amazon-sp-api` account beyond URL, seller id and token."""

    settle_seconds: float = Field(
        150.0, ge=MIN_SETTLE_SECONDS, description="how far behind Amazon's clock a listing ends (at least 120)"
    )


class AmazonListing:
    """getOrders pages, each listed order completed into a snapshot."""

    def __init__(self, client: AmazonClient, settings: AmazonSettings, seller_id: str) -> None:
        self.client = client
        self.settings = settings
        self.seller_id = seller_id
        self.batch_size = settings.orders_per_batch

    def fetch(self, scan: Scan) -> Page:
        params = {
            "MarketplaceIds": ",".join(self.settings.marketplace_ids),
            "LastUpdatedAfter": whole_seconds(scan.after),
            "LastUpdatedBefore": whole_seconds(scan.before),
            "MaxResultsPerPage": str(self.settings.page_size),
        }
        if scan.position is not None:
            params["NextToken"] = str(scan.position.get("token", ""))
        page = self.client.get_orders(params)
        return Page(page.orders, {"token": page.next_token} if page.next_token is not None else None)

    def key(self, record: Any) -> RecordKey | None:
        return order_key(record)

    def snapshot(self, record: Any) -> Received | None:
        try:
            order = parse_order(record)
        except BadRecord as exc:
            return problem(record, str(exc))
        if not is_importable(order, import_pending=self.settings.import_pending):
            return None
        try:
            items = self.client.get_order_items(order.AmazonOrderId)
        except RequestRefused as exc:
            return problem(record, f"getOrderItems refused: {exc}")
        address = None
        if needs_address(order):
            try:
                address = self.client.get_order_address(order.AmazonOrderId)
            except RequestRefused as exc:
                # The address is not essential to the order; the next change brings it.
                log.warning(
                    "getOrderAddress of %s refused (%s); importing it without the address", order.AmazonOrderId, exc
                )
        return snapshot(order, record, items, address, seller_id=self.seller_id)

    def restartable(self, error: ConnectorError) -> bool:
        """A stored NextToken Amazon no longer takes comes back as a 400."""
        return isinstance(error, RequestRefused) and error.status == 400

    def channel_now(self) -> datetime | None:
        return self.client.http.server_now()

    def close(self) -> None:
        self.client.close()


def endpoint_region(url: str) -> str | None:
    """`eu` for https://sellingpartnerapi-eu.amazon.com (and its sandbox); None for other hosts."""
    host = (urlparse(url).hostname or "").lower()
    for region, endpoint in ENDPOINTS.items():
        known = urlparse(endpoint).hostname
        if host in (known, f"sandbox.{known}"):
            return region
    return None


def check_marketplaces(url: str, marketplace_ids: list[str]) -> None:
    """A marketplace served by another regional endpoint would list nothing: say so now."""
    region = endpoint_region(url)
    if region is None:
        return
    wrong = [mid for mid in marketplace_ids if mid in MARKETPLACES and MARKETPLACES[mid].region != region]
    if wrong:
        hints = ", ".join(
            f"{mid} ({MARKETPLACES[mid].country}) is served by {ENDPOINTS[MARKETPLACES[mid].region]}" for mid in wrong
        )
        raise UsageError(f"marketplace ids do not belong to the endpoint {url}: {hints}; use one account per region")


class AmazonKind:
    """The entry point `amazon-sp-api`: used as the class itself, so everything is class-level."""

    name: ClassVar[str] = KIND
    title: ClassVar[str] = "Amazon SP-API Orders v0 (polled: orders updated since the cursor)"
    settings_model: ClassVar[type[BaseModel]] = AmazonSettings
    secret_names: ClassVar[tuple[str, ...]] = ("lwa_client_secret",)

    @classmethod
    def create(
        cls,
        config: AccountConfig,
        state: Mapping[str, Any] | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> PollingConnector:
        settings: AmazonSettings = validate_settings(AmazonSettings, config.settings, KIND)
        require_http_url(config.url, KIND, f"the SP-API endpoint, e.g. {ENDPOINTS['eu']}")
        check_marketplaces(config.url, settings.marketplace_ids)
        secret = require_secret(config, "lwa_client_secret", KIND, "LWA client secret")
        limiter = shared_limiter(
            (KIND, config.url, config.seller_id, settings.lwa_client_id),
            lambda: RateLimiter(USAGE_PLANS, LWA_LIMIT),
        )
        client = AmazonClient(
            config.url,
            LwaCredentials(settings.lwa_token_url, settings.lwa_client_id, secret, config.token),
            HttpSettings.of(settings),
            limiter=limiter,
            transport=transport,
            restricted=settings.restricted_data,
        )
        return PollingConnector(AmazonListing(client, settings, config.seller_id), settings, state)

    @staticmethod
    def parse(raw: Any) -> Received:
        """Map a stored snapshot again (`events retry`): the order with its items and address."""
        if not isinstance(raw, dict) or not isinstance(raw.get("order"), dict):
            return problem(raw, "not a stored Amazon order snapshot")
        record = raw["order"]
        try:
            order = parse_order(record)
        except BadRecord as exc:
            return problem(record, str(exc))
        items = raw.get("orderItems")
        if not isinstance(items, list):
            return problem(record, "the stored snapshot has no order items; the next listing of the order brings them")
        return snapshot(order, record, items, raw.get("orderAddress"), seller_id=_seller_of(raw))


def _seller_of(raw: Any) -> str:
    """A stored raw snapshot does not name the seller; the engine re-checks it anyway."""
    return str(raw.get("sellerId", "")) if isinstance(raw, dict) else ""


__all__ = ["AmazonKind", "AmazonListing", "AmazonSettings", "check_marketplaces", "endpoint_region"]
