"""The `woocommerce` connector kind: a WooCommerce shop's REST API v3, polled.

`pull` lists `GET /wp-json/wc/v3/orders` with `modified_after` / `modified_before`
(the polling cursor's window, `dates_are_gmt=true`), `orderby=modified&order=asc` and
`per_page` (at most 100), reading `X-WP-Total`. Plain page numbers would shift when an
order is modified while the window is read (it moves to the end of the window, or out
of it) and let another order slip between two pages; so each page starts after the
last modification the page before ended with, and only within one second does the
listing step by `offset`, checking its anchor (`WooCommerceListing`).

Account: `--url` the shop's base URL (https://shop.example.com), `--seller-id` a label
of your choice, `--token-env` the consumer key (ck_...), `--secret
consumer_secret=ENVVAR` (cs_...). Keys are sent as HTTP Basic credentials (the REST API
takes them over HTTPS), or as query parameters with `--set auth=query` for servers that
drop the Authorization header. See docs/connectors.md.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, Field

from channelport.connectors.base import AccountConfig, Received
from channelport.connectors.event_api_client import Answer
from channelport.connectors.polling import (
    ChannelHttp,
    ChannelRules,
    HttpSettings,
    Limit,
    Page,
    PollingConnector,
    PollingSettings,
    RateLimiter,
    RecordKey,
    Scan,
    floor_seconds,
    json_or_none,
    loads,
    require_http_url,
    require_secret,
    shared_limiter,
    validate_settings,
    whole_seconds,
)
from channelport.connectors.woocommerce_mapping import is_order, map_record, order_key
from channelport.domain.instants import format_instant, parse_instant
from channelport.errors import ConnectorError, ProtocolError

log = logging.getLogger(__name__)

KIND = "woocommerce"
ORDERS_PATH = "/wp-json/wc/v3/orders"
OPERATION = "list orders"

CREDENTIALS_HINT = (
    "Create a new key under WooCommerce > Settings > Advanced > REST API (permission: Read) and update the "
    "account's consumer key (`account edit --token-env`) and consumer_secret (`--secret consumer_secret=ENVVAR`)."
)


class _WooCommerceAccount(BaseModel):
    """The account's own settings; listed first by `channelport connectors`."""

    auth: Literal["basic", "query"] = Field(
        "basic", description="how the keys are sent: HTTP Basic, or query parameters for servers that drop it"
    )
    requests_per_second: float = Field(5.0, gt=0, description="most requests per second to the shop (self-hosted)")
    burst: int = Field(10, ge=1, description="requests sent at once before requests_per_second applies")


class WooCommerceSettings(PollingSettings, _WooCommerceAccount):
    """Settings of a `woocommerce` account beyond URL, seller id and token."""

    settle_seconds: float = Field(60.0, ge=0, description="how far behind the shop's clock a listing ends")


def describe_error(body: bytes) -> str | None:
    """The WP REST error body: `{"code": ..., "message": ...}`."""
    data = json_or_none(body)
    if not isinstance(data, dict):
        return None
    parts = [str(data[key]) for key in ("code", "message") if isinstance(data.get(key), str) and data[key]]
    return ": ".join(parts) or None


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    value = headers.get(name)
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def parse_orders(answer: Answer) -> tuple[list[Any], int | None, int | None]:
    """The records, `X-WP-Total` and `X-WP-TotalPages`."""
    data = loads(answer.body)
    if not isinstance(data, list):
        raise ProtocolError("expected a JSON array of orders (is the URL the shop's base URL?)")
    return data, _int_header(answer.headers, "x-wp-total"), _int_header(answer.headers, "x-wp-totalpages")


MAX_ROUNDS = 20  # times one scan may list a second again because its orders changed while read
IGNORED_OFFSET_LIMIT = 3  # answers to an offset that repeat the offset-0 page: the shop ignores offset


class WooCommerceListing:
    """Orders modified within the window, oldest modification first, by keyset.

    Each page asks for the orders modified after the last one of the page before (less
    a second: the API compares whole seconds), so the pages do not shift when an order
    is modified while the window is read: it leaves the window or moves to its end.

    Only where a whole page shares the key's first second does the key not move on; then
    the listing steps on by `offset`, each page starting with the last order of the page
    before (the anchor: its id and modification time). Were an order of that second
    modified meanwhile, every order behind it would move up one place and the first
    unread one would be skipped: the anchor is then not where it was (or not in the
    version it was), and the second is listed again from its start
    (`rereading`, so the polling base expects known orders). Orders read twice are
    skipped by the polling base.
    """

    def __init__(self, http: ChannelHttp, settings: WooCommerceSettings, config: AccountConfig, secret: str) -> None:
        self.http = http
        self.settings = settings
        self.seller_id = config.seller_id
        self.batch_size = settings.page_size
        self.per_page = max(2, settings.page_size)  # an anchored page must bring at least one new order
        self._query_auth = {"consumer_key": config.token, "consumer_secret": secret} if settings.auth == "query" else {}
        self._first_pages: dict[str, tuple[Any, ...]] = {}  # key -> its page at offset 0, to spot an ignored offset
        self._ignored_offsets: dict[str, int] = {}  # key -> answers to an offset that were its offset-0 page

    def fetch(self, scan: Scan) -> Page:
        position = scan.position or {}
        after = parse_instant(position["after"]) if "after" in position else scan.after
        offset = _offset_of(position, self.per_page)
        anchor = position.get("anchor")
        rounds = int(position.get("round", 0))
        params = {
            "modified_after": whole_seconds(after),
            "modified_before": whole_seconds(scan.before),
            "dates_are_gmt": "true",
            "orderby": "modified",
            "order": "asc",
            "per_page": str(self.per_page),
            **({"offset": str(offset)} if offset else {"page": "1"}),
            **self._query_auth,
        }
        records, total, _pages = self.http.call(OPERATION, "GET", ORDERS_PATH, parse_orders, params=params)
        modified = _modified_times(records)
        rereading = offset < int(position.get("reread_to", 0))
        key = format_instant(after)
        if not offset:
            self._first_pages[key] = _versions(records)
        elif anchor is not None and (not records or list(_versions(records[:1])[0] or ()) != list(anchor)):
            return self._list_again(after, offset, rounds, records)
        done = len(records) < self.per_page or (total is not None and offset + len(records) >= total)
        if done:
            return Page(tuple(records), None, rereading=rereading)
        next_key = floor_seconds(modified[-1]) - timedelta(seconds=1) if modified else after
        if next_key > after:
            return Page(tuple(records), {"after": format_instant(next_key), "offset": 0, "round": rounds}, rereading)
        following = {"after": key, "offset": offset + len(records) - 1, "anchor": _versions(records[-1:])[0],
                     "round": rounds}
        if rereading:
            following["reread_to"] = position["reread_to"]
        return Page(tuple(records), following, rereading=rereading)

    def _list_again(self, after: datetime, offset: int, rounds: int, records: list[Any]) -> Page:
        """The anchor moved: orders of this second changed while it was read; list it again.

        Unless the answer is the very page of offset 0 (the same orders in the same
        versions) again and again: then the shop ignores `offset`, and listing again would
        never end. Once can be chance (an order modified into this second in front of the
        anchor shifts the page back onto the first).
        """
        key = format_instant(after)
        if records and _versions(records) == self._first_pages.get(key):
            self._ignored_offsets[key] = self._ignored_offsets.get(key, 0) + 1
        if self._ignored_offsets.get(key, 0) >= IGNORED_OFFSET_LIMIT:
            raise ProtocolError(
                f"the shop answered offset={offset} with the orders of offset 0: it ignores the `offset` parameter, "
                "so orders sharing one modification second cannot all be read; this sync stops (check plugins that "
                "rewrite REST queries)"
            )
        if rounds + 1 > MAX_ROUNDS:
            raise ProtocolError(
                f"orders modified in the same second keep changing while they are read ({MAX_ROUNDS} tries); this "
                "sync stops and the next one reads them again"
            )
        log.info("orders of %s changed while read (offset %d); listing that second again", format_instant(after), offset)
        restart = {"after": format_instant(after), "offset": 0, "round": rounds + 1, "reread_to": offset}
        return Page(tuple(records), restart, rereading=True)

    def key(self, record: Any) -> RecordKey | None:
        return order_key(record)

    def snapshot(self, record: Any) -> Received | None:
        if not is_order(record):
            return None
        return map_record(record, seller_id=self.seller_id)

    def restartable(self, error: ConnectorError) -> bool:
        return False  # a keyset position never expires

    def channel_now(self) -> datetime | None:
        return self.http.server_now()

    def close(self) -> None:
        self.http.close()


def _offset_of(position: Mapping[str, Any], per_page: int) -> int:
    """The position's offset; a position stored by an older version counts pages."""
    if "offset" in position:
        return max(0, int(position["offset"]))
    return max(0, int(position.get("page", 1)) - 1) * per_page


def _versions(records: list[Any]) -> tuple[Any, ...]:
    return tuple((record.get("id"), record.get("date_modified_gmt")) if isinstance(record, dict) else None
                 for record in records)


def _modified_times(records: list[Any]) -> list[datetime]:
    """The records' modification times, which must ascend: the keyset relies on it."""
    times = [key.updated_at for key in (order_key(record) for record in records) if key is not None]
    if any(later < earlier for earlier, later in zip(times, times[1:])):
        raise ProtocolError(
            "the shop did not sort the orders by modification date (orderby=modified&order=asc); "
            "Channelport needs a WooCommerce version whose REST API supports it"
        )
    return times


class WooCommerceKind:
    """The entry point `woocommerce`: used as the class itself, so everything is class-level."""

    name: ClassVar[str] = KIND
    title: ClassVar[str] = "WooCommerce REST API v3 (polled: orders modified since the cursor)"
    settings_model: ClassVar[type[BaseModel]] = WooCommerceSettings
    secret_names: ClassVar[tuple[str, ...]] = ("consumer_secret",)

    @classmethod
    def create(
        cls,
        config: AccountConfig,
        state: Mapping[str, Any] | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> PollingConnector:
        settings: WooCommerceSettings = validate_settings(WooCommerceSettings, config.settings, KIND)
        require_http_url(config.url, KIND, "the shop's base URL, e.g. https://shop.example.com")
        secret = require_secret(config, "consumer_secret", KIND, "consumer secret")
        headers: dict[str, str] = {}
        if settings.auth == "basic":
            pair = base64.b64encode(f"{config.token}:{secret}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {pair}"
        rules = ChannelRules(
            name="WooCommerce",
            credentials_hint=CREDENTIALS_HINT,
            describe_error=describe_error,
            headers=lambda: headers,
        )
        limit = Limit(settings.requests_per_second, settings.burst)
        key_id = hashlib.sha256(config.token.encode()).hexdigest()[:16]  # the shop's buckets are per key
        limiter = shared_limiter(
            (KIND, config.url, key_id, str(settings.requests_per_second), str(settings.burst)),
            lambda: RateLimiter({}, limit),
        )
        http = ChannelHttp(config.url, rules, limiter, HttpSettings.of(settings), transport=transport)
        return PollingConnector(WooCommerceListing(http, settings, config, secret), settings, state)

    @staticmethod
    def parse(raw: Any) -> Received:
        """Map a stored snapshot again (`events retry`)."""
        if isinstance(raw, dict) and "order" in raw:
            return map_record(raw["order"], seller_id=str(raw.get("sellerId", "")))
        return map_record(raw, seller_id="")


__all__ = ["WooCommerceKind", "WooCommerceListing", "WooCommerceSettings"]
