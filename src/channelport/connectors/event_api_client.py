"""A thin, blocking HTTP client for the Channel Event API: requests, retries, and errors.

This is the "adapter" half of the connector. It knows HTTP and the protocol page's
fault rules, and nothing about events; `event_api_mapping` turns bodies into values.

Every answer goes through one function, `classify`, which sorts it into ok, retry (with
the server's wait if it gave one) or fatal; transport exceptions go through
`classify_failure`. The retry loop around them is written by hand rather than with
`stamina` because a 429's `Retry-After` decides the next wait, and because the loop must
be bounded by one deadline however the waits add up. Nothing here can hang: every
request has connect and read timeouts, a whole answer must arrive within
`connect_timeout + timeout`, and no wait is started that would end past the deadline.

httpx's exceptions never leave this module: what cannot be retried becomes
`CredentialsRejected` or `ProtocolError`, and transient faults that outlast the deadline
become `ChannelUnavailable`.
"""

from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Generic, TypeVar

import httpx

from channelport import __version__ as _version
from channelport.connectors.event_api_mapping import error_messages
from channelport.errors import ChannelUnavailable, ConnectorError, CredentialsRejected, ProtocolError

T = TypeVar("T")
log = logging.getLogger(__name__)  # one DEBUG line per request, as httpx's Client wrote

# 500, 502, 503, 504 are the page's; 408 is a timeout too. Other 5xx (a proxy's 520-524,
# 507) are treated alike, except 501 and 505, which say the request can never work.
NEVER_RETRIED_5XX = frozenset({501, 505})
FIRST_WAIT = 0.5  # seconds before the first retry; doubles per attempt up to max_wait
MIN_WAIT = 0.1  # even `Retry-After: 0` gets this, so a misbehaving server is not hammered


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back: status, headers and the whole body (already read)."""

    status: int
    headers: httpx.Headers
    body: bytes


@dataclass(frozen=True, slots=True)
class Ok(Generic[T]):
    value: T


@dataclass(frozen=True, slots=True)
class Retry:
    """A transient fault. `wait` is the server's `Retry-After`, when it gave a usable one."""

    reason: str
    wait: float | None = None


@dataclass(frozen=True, slots=True)
class Fatal:
    error: ConnectorError


Verdict = Ok[T] | Retry | Fatal


def classify(answer: Answer, parse: Callable[[bytes], T], what: str) -> Verdict[T]:
    """Sort one answer into ok, retry or fatal; `parse` checks a 2xx body's shape.

    - 2xx whose body `parse` accepts: ok. One it refuses (ValueError: not JSON, cut off,
      wrong shape) is taken for a truncated answer: retry.
    - 429: retry after `Retry-After` seconds (missing or garbage: normal backoff).
    - 408 and 5xx (but 501, 505): retry; their body may be missing or not JSON.
    - 401, 403: the credentials were rejected; never retried.
    - any other status: the request does not fit the channel, `ProtocolError` with the
      server's `errorList` message (retrying would get the same answer).
    """
    status = answer.status
    if 200 <= status < 300:
        try:
            return Ok(parse(answer.body))
        except ValueError as exc:
            return Retry(f"HTTP {status} with an unusable body (truncated?): {_clip(str(exc), 200)}")
    if status == 429:
        return Retry(f"HTTP 429 {_phrase(status)}", wait=retry_after(answer.headers))
    if status == 408 or (500 <= status < 600 and status not in NEVER_RETRIED_5XX):
        return Retry(f"HTTP {status} {_phrase(status)}{_server_says(answer.body)}")
    if status in (401, 403):
        return Fatal(
            CredentialsRejected(
                f"the channel rejected the credentials (HTTP {status} {_phrase(status)}) on {what}"
                f"{_server_says(answer.body)}. The token is wrong, expired or lacks access: "
                "renew it on the channel's seller portal and update the account's token; "
                "this channel is not synced until then."
            )
        )
    return Fatal(ProtocolError(f"{what} answered HTTP {status} {_phrase(status)}{_server_says(answer.body)}"))


def classify_failure(error: Exception) -> Retry | Fatal:
    """Sort an httpx exception: timeouts and broken connections are transient."""
    name = type(error).__name__
    if isinstance(error, httpx.TimeoutException):
        return Retry(f"no answer in time ({name})")
    if isinstance(error, (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError, httpx.DecodingError)):
        return Retry(f"connection failed ({name}: {_clip(str(error), 200)})")
    # UnsupportedProtocol, LocalProtocolError, InvalidURL, ...: retrying cannot help.
    return Fatal(ProtocolError(f"could not talk to the channel ({name}: {_clip(str(error), 200)})"))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` in seconds, or None when it is missing or not a number of seconds."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not 0 <= seconds < float("inf"):  # also refuses NaN
        return None
    return seconds


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """Seconds. `retry_deadline` bounds the whole retry loop of one call."""

    timeout: float = 30.0
    connect_timeout: float = 5.0
    retry_deadline: float = 300.0
    max_retry_wait: float = 60.0


class EventApiClient:
    """One seller account's connection to a channel; one call = one bounded retry loop.

    `sleep`, `monotonic` and `uniform` (the jitter's random source) are injectable so a
    test can run an hour-long outage in no time.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        settings: ClientSettings | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.settings = settings or ClientSettings()
        self._sleep = sleep
        self._monotonic = monotonic
        self._uniform = uniform
        try:
            base = httpx.URL(base_url)
            if base.scheme not in ("http", "https") or not base.host:
                raise httpx.InvalidURL("an http:// or https:// URL with a host is needed")
        except (httpx.InvalidURL, ValueError, TypeError) as exc:  # UnicodeEncodeError is a ValueError
            raise ProtocolError(f"cannot set up a connection to {base_url!r}: {exc}") from None
        # Requests go straight to the transport: httpx's Client would parse and merge the
        # URL, run auth, cookie and redirect steps on every request, a third of a request's
        # CPU in a sync that sends eleven per page (ten of them acknowledgements). None of
        # those steps applies here: the token is a header, redirects are never followed,
        # and the channel sets no cookies.
        self.base_url = base.copy_with(raw_path=base.raw_path.rstrip(b"/") + b"/")
        self._transport = transport or no_delay_transport()
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "User-Agent": f"channelport/{_version}",
        }
        timeout = httpx.Timeout(self.settings.timeout, connect=self.settings.connect_timeout)
        self._timeouts = {"timeout": timeout.as_dict()}
        self._urls: dict[str, httpx.URL] = {}
        self._closed = False

    def close(self) -> None:
        self._closed = True
        self._transport.close()

    def call(
        self,
        method: str,
        path: str,
        parse: Callable[[bytes], T],
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> T:
        """Send until the answer is ok or fatal, or the retry deadline is spent.

        Only idempotent calls come through here (the protocol's PUT, GET and DELETE all
        are), so a request that may or may not have reached the server is simply sent
        again.
        """
        what = f"{method} {path}"
        started = self._monotonic()
        deadline = self.settings.retry_deadline
        attempts = 0
        while True:
            attempts += 1
            verdict = self._attempt(method, path, params, json, parse, what)
            if isinstance(verdict, Ok):
                return verdict.value
            if isinstance(verdict, Fatal):
                raise verdict.error
            elapsed = self._monotonic() - started
            wait = self._wait(attempts, verdict.wait)
            if elapsed + wait > deadline:
                raise ChannelUnavailable(
                    f"the channel at {self.base_url} is unavailable: {what} failed {attempts} "
                    f"time{'s' if attempts != 1 else ''} over {elapsed:.0f} s (retry deadline {deadline:g} s); "
                    f"last: {verdict.reason}. The events stay queued on the channel; the next sync tries again."
                )
            self._sleep(wait)

    def _wait(self, attempts: int, server_wait: float | None) -> float:
        return backoff_wait(attempts, server_wait, cap=self.settings.max_retry_wait, first=FIRST_WAIT,
                            floor=MIN_WAIT, uniform=self._uniform)

    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: Any,
        parse: Callable[[bytes], T],
        what: str,
    ) -> Verdict[T]:
        try:
            answer = self._send(method, path, params, json)
        except httpx.HTTPError as exc:
            return classify_failure(exc)
        except _AnswerTooSlow as exc:
            return Retry(str(exc))
        except (httpx.InvalidURL, httpx.StreamError) as exc:  # not HTTPError subclasses
            return Fatal(ProtocolError(f"could not send {what}: {exc}"))
        return classify(answer, parse, what)

    def _send(self, method: str, path: str, params: Mapping[str, Any] | None, json: Any) -> Answer:
        """One request; the body is read in chunks so a trickling answer cannot stall us."""
        if self._closed:
            raise RuntimeError("the channel client is closed")
        limit = self.settings.connect_timeout + self.settings.timeout
        started = self._monotonic()
        request = httpx.Request(method, self._url(path), params=params, headers=self._headers, json=json,
                                extensions=self._timeouts)
        response = self._transport.handle_request(request)
        log.debug('HTTP Request: %s %s "%s %d %s"', method, request.url, response.http_version, response.status_code,
                  response.reason_phrase)
        try:
            chunks = []
            for chunk in response.iter_bytes():
                chunks.append(chunk)
                if self._monotonic() - started > limit:
                    raise _AnswerTooSlow(f"the answer did not arrive completely within {limit:g} s")
            return Answer(response.status_code, response.headers, b"".join(chunks))
        finally:
            response.close()

    def _url(self, path: str) -> httpx.URL:
        """`path` under the base URL, as httpx's `base_url` joins them (made once per path)."""
        url = self._urls.get(path)
        if url is None:
            raw_path = self.base_url.raw_path + path.lstrip("/").encode("ascii")
            url = self._urls[path] = self.base_url.copy_with(raw_path=raw_path)
        return url


class _AnswerTooSlow(Exception):
    """The answer trickled in for longer than a request may take."""


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _server_says(body: bytes) -> str:
    """The server's errorList message, or a short quote of a body that is not one."""
    message = error_messages(body)
    if message:
        return f": {message}"
    text = body[:200].decode("utf-8", errors="replace").strip()
    return f" (body: {_clip(' '.join(text.split()), 120)})" if text else ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "Answer",
    "ClientSettings",
    "EventApiClient",
    "Fatal",
    "Ok",
    "NEVER_RETRIED_5XX",
    "Retry",
    "Verdict",
    "classify",
    "classify_failure",
    "retry_after",
]


def no_delay_transport() -> httpx.HTTPTransport:
    """TCP_NODELAY: httpx writes a request's headers and body separately, and Nagle's
    algorithm held the body back until the server's delayed ACK, about 40 ms on every
    PUT and DELETE (an acknowledgement of 100 ids). Measured on loopback: 45 ms -> 5 ms."""
    return httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])


def backoff_wait(
    attempts: int,
    server_wait: float | None,
    *,
    cap: float,
    first: float,
    floor: float,
    uniform: Callable[[float, float], float],
) -> float:
    """The server's wait if it gave one, else exponential backoff with jitter; capped.

    Shared by every HTTP connector so that all channels are retried by one policy.
    """
    if server_wait is not None:
        return min(max(server_wait, floor), cap)
    base = min(cap, first * 2 ** (attempts - 1))
    return max(floor, uniform(base / 2, base))
