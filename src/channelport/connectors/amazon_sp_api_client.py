"""A thin client for the Amazon Selling Partner API, Orders v0, and Login with Amazon.

The "adapter" half of the amazon-sp-api connector: it knows the operations, their
usage plans and error bodies, and the LWA token refresh; `amazon_sp_api_mapping` turns
what it returns into snapshots. Every request goes through `polling.ChannelHttp`
(retries, 429 backoff, token buckets per operation).

- Access tokens: the account's token is the LWA refresh token; it is exchanged for an
  access token (valid an hour) at the token endpoint, sent as `x-amz-access-token`, and
  renewed shortly before it expires, or once when the API answers 401/403 (an access
  token Amazon already considers expired).
- Restricted data: a shipping address's names, street lines and phone come only with a
  Restricted Data Token (Tokens API, for apps with the Direct-to-Consumer Shipping
  role); the listing asks for one, and does without where Amazon refuses it.
- Usage plans: the defaults published with each operation (`USAGE_PLANS`); the rate a
  response reports in `x-amzn-RateLimit-Limit` replaces the default for that operation.
- Bodies are checked here only as far as paging needs (`payload`, `Orders` a list of
  objects, `NextToken`); each order record is validated on its own by the mapping, so
  one odd order never costs a page.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from channelport.connectors.event_api_client import Answer
from channelport.connectors.polling import (
    ChannelHttp,
    ChannelRules,
    HttpSettings,
    Limit,
    RateLimiter,
    RequestRefused,
    clip,
    json_or_none,
    loads,
)
from channelport.errors import ProtocolError

log = logging.getLogger(__name__)

DEFAULT_LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"

# The regional SP-API endpoints (production; the sandbox hosts are `sandbox.` + these).
ENDPOINTS: dict[str, str] = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}

ORDERS_PATH = "/orders/v0/orders"
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
# What a Restricted Data Token for the listing covers: names, street lines and phone of
# the shipping address, and the buyer's restricted details.
RESTRICTED_LISTING = {"method": "GET", "path": ORDERS_PATH, "dataElements": ["buyerInfo", "shippingAddress"]}

# The default usage plans published with each operation in ordersV0.json.
USAGE_PLANS: dict[str, Limit] = {
    "getOrders": Limit(rate=0.0167, burst=20),
    "getOrder": Limit(rate=0.5, burst=30),
    "getOrderItems": Limit(rate=0.5, burst=30),
    "getOrderAddress": Limit(rate=0.5, burst=30),
    "getOrderBuyerInfo": Limit(rate=0.5, burst=30),
    "createRestrictedDataToken": Limit(rate=1.0, burst=10),  # Tokens API 2021-03-01
}
LWA_OPERATION = "LWA token refresh"
LWA_LIMIT = Limit(rate=5.0, burst=10)  # not published; generous, it is called once an hour
ACCESS_TOKEN_MARGIN = 60.0  # seconds before expiry an access token is renewed
MAX_ITEM_PAGES = 100  # getOrderItems pages of one order; an order has far fewer items

CREDENTIALS_HINT = (
    "Authorize the app again in Seller Central (Apps and Services > Manage Your Apps), then update the "
    "account's LWA refresh token (`account edit --token-env`) and, if they changed, lwa_client_id and "
    "lwa_client_secret."
)


def describe_error(body: bytes) -> str | None:
    """SP-API's `errors` list, or LWA's `error` / `error_description`, as one line."""
    data = json_or_none(body)
    if not isinstance(data, dict):
        return None
    errors = data.get("errors")
    if isinstance(errors, list):
        parts = []
        for entry in errors[:5]:
            if isinstance(entry, dict):
                text = ": ".join(str(entry[key]) for key in ("code", "message") if entry.get(key) not in (None, ""))
                if entry.get("details"):
                    text += f" ({entry['details']})"
                if text:
                    parts.append(clip(text, 300))
        return "; ".join(parts) or None
    if isinstance(data.get("error"), str):
        description = data.get("error_description")
        return data["error"] + (f": {description}" if isinstance(description, str) and description else "")
    return None


def rate_from_headers(headers: httpx.Headers) -> float | None:
    """`x-amzn-RateLimit-Limit`: the operation's current rate in requests per second."""
    value = headers.get("x-amzn-ratelimit-limit")
    if value is None:
        return None
    try:
        rate = float(value.strip())
    except ValueError:
        return None
    return rate if 0 < rate < float("inf") else None


@dataclass(frozen=True, slots=True)
class OrdersPage:
    """One `getOrders` answer: the order records as listed, and the next page's token."""

    orders: tuple[dict[str, Any], ...]
    next_token: str | None
    payload: dict[str, Any]


def _payload(answer: Answer) -> dict[str, Any]:
    data = loads(answer.body)
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        raise ProtocolError("expected a JSON object with a `payload` object")
    return data["payload"]


def _token(payload: Mapping[str, Any]) -> str | None:
    token = payload.get("NextToken")
    if token is None or token == "":
        return None
    if not isinstance(token, str):
        raise ProtocolError("NextToken must be a string")
    return token


def parse_orders(answer: Answer) -> OrdersPage:
    payload = _payload(answer)
    orders = payload.get("Orders")
    if not isinstance(orders, list) or not all(isinstance(order, dict) for order in orders):
        raise ProtocolError("payload.Orders must be an array of objects")
    return OrdersPage(tuple(orders), _token(payload), payload)


def parse_items(answer: Answer) -> tuple[list[dict[str, Any]], str | None]:
    payload = _payload(answer)
    items = payload.get("OrderItems")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ProtocolError("payload.OrderItems must be an array of objects")
    return list(items), _token(payload)


def parse_payload(answer: Answer) -> dict[str, Any]:
    return _payload(answer)


def parse_rdt(answer: Answer) -> tuple[str, float]:
    data = loads(answer.body)
    token = data.get("restrictedDataToken") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise ProtocolError("the Tokens API answer has no restrictedDataToken")
    expires_in = data.get("expiresIn", 3600)
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
        raise ProtocolError("the Tokens API answer's expiresIn is not a number")
    return token, float(expires_in)


class LwaTokens:
    """Access tokens from the LWA refresh token, kept until shortly before they expire."""

    def __init__(
        self,
        http: ChannelHttp,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._monotonic = monotonic
        self._access: str | None = None
        self._valid_until = 0.0

    def access_token(self) -> str:
        if self._access is None or self._monotonic() >= self._valid_until:
            self.refresh()
        assert self._access is not None
        return self._access

    def refresh(self) -> None:
        """Exchange the refresh token; a refused grant or client is `CredentialsRejected`."""
        requested = self._monotonic()
        token, expires_in = self._http.call(
            LWA_OPERATION,
            "POST",
            self._token_url,
            _parse_lwa,
            data=self._form,
            authenticated=False,
            clock=False,
            credential_statuses=frozenset({400, 401, 403}),
        )
        self._access = token
        self._valid_until = requested + max(0.0, expires_in - ACCESS_TOKEN_MARGIN)


def _parse_lwa(answer: Answer) -> tuple[str, float]:
    data = loads(answer.body)
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        raise ProtocolError("the LWA answer has no access_token")
    expires_in = data.get("expires_in", 3600)
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)):
        raise ProtocolError("the LWA answer's expires_in is not a number")
    return data["access_token"], float(expires_in)


@dataclass(frozen=True, slots=True)
class LwaCredentials:
    """What Login with Amazon needs to mint access tokens for one selling partner."""

    token_url: str
    client_id: str
    client_secret: str
    refresh_token: str


class AmazonClient:
    """The Orders v0 operations Channelport reads, for one selling partner.

    `credentials` is either the LWA credentials (the connector) or a fixed access token
    (the sandbox conformance test); LWA talks through the same HTTP client, so it shares
    its transport, timeouts and retries.

    With `restricted`, listings go with a Restricted Data Token (Tokens API) so that
    they carry the shipping address's names, street lines and phone. An app without the
    restricted role is refused one; then, once per client, a warning is logged and the
    listings go with the plain access token (addresses without those parts).
    """

    def __init__(
        self,
        endpoint: str,
        credentials: LwaCredentials | str,
        settings: HttpSettings | None = None,
        *,
        limiter: RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        restricted: bool = False,
    ) -> None:
        self.tokens: LwaTokens | None = None
        self.restricted = restricted
        self.restricted_refused: str | None = None  # why Amazon refused a Restricted Data Token
        self._rdt: tuple[str, float] | None = None  # token, valid until (monotonic)
        self._monotonic = monotonic
        rules = ChannelRules(
            name="Amazon SP-API",
            credentials_hint=CREDENTIALS_HINT,
            describe_error=describe_error,
            rate_from_headers=rate_from_headers,
            headers=lambda: {"x-amz-access-token": self._access_token()},
            refresh_credentials=self._refresh if isinstance(credentials, LwaCredentials) else None,
        )
        self.http = ChannelHttp(
            endpoint,
            rules,
            limiter or RateLimiter(USAGE_PLANS, LWA_LIMIT, monotonic),
            settings,
            transport=transport,
            sleep=sleep,
            monotonic=monotonic,
        )
        if isinstance(credentials, LwaCredentials):
            self.tokens = LwaTokens(
                self.http,
                token_url=credentials.token_url,
                client_id=credentials.client_id,
                client_secret=credentials.client_secret,
                refresh_token=credentials.refresh_token,
                monotonic=monotonic,
            )
            self._fixed_token = None
        else:
            self._fixed_token = credentials

    def _access_token(self) -> str:
        return self.tokens.access_token() if self.tokens is not None else str(self._fixed_token)

    def _refresh(self) -> None:
        self._rdt = None  # minted with the old access token
        if self.tokens is not None:
            self.tokens.refresh()

    def _listing_token(self) -> dict[str, str]:
        """The headers of a listing: a Restricted Data Token where there is one."""
        if not self.restricted or self.restricted_refused is not None:
            return {}
        if self._rdt is None or self._monotonic() >= self._rdt[1]:
            requested = self._monotonic()
            try:
                token, expires_in = self.http.call(
                    "createRestrictedDataToken", "POST", RDT_PATH, parse_rdt,
                    json={"restrictedResources": [RESTRICTED_LISTING]},
                    credential_statuses=frozenset(),  # a 403 here is the missing role, not a bad login
                )
            except RequestRefused as exc:
                self.restricted_refused = str(exc)
                log.warning(
                    "%s; orders are imported with addresses without names, street lines and phone. Give the "
                    "app the Direct-to-Consumer Shipping role to get them.", exc
                )
                return {}
            self._rdt = (token, requested + max(0.0, expires_in - ACCESS_TOKEN_MARGIN))
        return {"x-amz-access-token": self._rdt[0]}

    def close(self) -> None:
        self.http.close()

    def get_orders(self, params: Mapping[str, str]) -> OrdersPage:
        return self.http.call("getOrders", "GET", ORDERS_PATH, parse_orders, params=params, headers=self._listing_token)

    def get_order(self, order_id: str) -> dict[str, Any]:
        return self.http.call("getOrder", "GET", f"{ORDERS_PATH}/{quote(order_id, safe='')}", parse_payload)

    def get_order_items(self, order_id: str) -> list[dict[str, Any]]:
        """Every item of the order, following `NextToken` (a repeated token is refused)."""
        path = f"{ORDERS_PATH}/{quote(order_id, safe='')}/orderItems"
        items, token = self.http.call("getOrderItems", "GET", path, parse_items)
        tokens: set[str] = set()
        while token is not None:
            if token in tokens or len(tokens) >= MAX_ITEM_PAGES:
                raise ProtocolError(f"getOrderItems of {order_id} keeps returning NextToken {clip(token, 40)!r}")
            tokens.add(token)
            more, token = self.http.call("getOrderItems", "GET", path, parse_items, params={"NextToken": token})
            items.extend(more)
        return items

    def get_order_address(self, order_id: str) -> dict[str, Any]:
        path = f"{ORDERS_PATH}/{quote(order_id, safe='')}/address"
        return self.http.call("getOrderAddress", "GET", path, parse_payload)


__all__ = [
    "DEFAULT_LWA_TOKEN_URL",
    "ENDPOINTS",
    "USAGE_PLANS",
    "AmazonClient",
    "LwaCredentials",
    "LwaTokens",
    "OrdersPage",
    "describe_error",
    "rate_from_headers",
]
