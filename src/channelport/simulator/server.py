"""The marketplace over HTTP: the protocol endpoints and the `/_sim/` control API.

Plain Starlette rather than FastAPI: FastAPI's automatic validation answers 422 with its
own body, while the protocol wants 400 with an `errorList` for any request that does not
fit, and control over every byte (a truncated 200 body is one of the faults). Uvicorn
runs in a background thread on 127.0.0.1; `refuse_connections()` stops it and closes
the port, `accept_connections()` binds the same port again, so a client sees real
connection refusals.

Order of checks on a protocol request: fault delay, outage (503), random 500, rate limit
(429), then the bearer token (401, or 401 for an expired one), then the request itself
(400); a request that ran may then have its answer cut off mid-body (the
`disconnect_probability` fault). The control API is never faulted and needs no token
(it only listens on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from channelport.simulator import validate
from channelport.simulator.marketplace import Marketplace, parse_instant_arg
from channelport.simulator.wire import UTC, ProtocolError, datetime_to_ms, ms_to_text

Handler = Callable[[Request], Awaitable[Response]]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "backslashreplace")
    return Response(data, status_code=status, media_type="application/json", headers=headers)


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(status, {"errorList": [{"code": code, "message": message}]}, headers)


async def _body(request: Request) -> Any:
    try:
        raw = await request.body()
    except ClientDisconnect:  # a client killed mid-request: nothing is done, and there is no one to answer
        raise ProtocolError("the client went away before its body arrived") from None
    if not raw:
        raise ProtocolError("a JSON body is required")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("the body is not valid UTF-8 JSON") from None


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


_UNFINISHED = "ASGI callable returned without completing response."


class _CutOff(Response):
    """An answer that dies mid-body: the status line and headers (with the whole body's
    Content-Length), half the body, then nothing; uvicorn closes the connection when the
    app returns without finishing, so the client sees a peer that hung up mid-message."""

    def __init__(self, whole: Response) -> None:
        super().__init__(whole.body, status_code=whole.status_code, media_type=whole.media_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})


class _QuietCutOffs(logging.Filter):
    """uvicorn logs an unfinished answer as an error; for a `_CutOff` that is the point."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _UNFINISHED


_QUIET_CUT_OFFS = _QuietCutOffs()


class _Current:
    """Attribute access to whichever marketplace the server serves right now."""

    def __init__(self, source: Marketplace | Callable[[], Marketplace]) -> None:
        self._source = source

    def __getattr__(self, name: str) -> Any:
        source = self._source
        market = source if isinstance(source, Marketplace) else source()
        return getattr(market, name)


def build_app(source: Marketplace | Callable[[], Marketplace], *, follow_wall_clock: bool = False) -> Starlette:
    """The ASGI app for a marketplace (or a function returning the current one, so a
    running server can be pointed at a fresh marketplace). `follow_wall_clock`: advance
    the simulated clock to the real now before every request (the CLI's serve mode)."""
    mp: Any = _Current(source)

    def follow() -> None:
        if follow_wall_clock:
            mp.follow(datetime.now(UTC))

    def protocol(name: str, operation: Callable[[Request, str], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            faults = mp.faults
            with mp.lock:
                faults.requests += 1
                settings = faults.settings
                delay = settings.delay_seconds
                if settings.outage:
                    failure = "outage"
                elif faults.chance(settings.error_probability):
                    failure = "error"
                elif (settings.rate_limit_every and faults.requests % settings.rate_limit_every == 0) or faults.chance(
                    settings.rate_limit_probability
                ):
                    failure = "rate"
                else:
                    failure = None
                retry_after = settings.retry_after
            if failure is not None:
                faults.record({"outage": "outage", "error": "error_probability"}.get(failure, "rate_limit"))
            if delay > 0:
                await asyncio.sleep(delay)
            if failure == "outage":
                return _error(503, "SERVICE_UNAVAILABLE", "The channel is down for maintenance.", {"Retry-After": "60"})
            if failure == "error":
                return Response(
                    "<html><body><h1>500 Internal Server Error</h1></body></html>",
                    status_code=500,
                    media_type="text/html",
                )
            if failure == "rate":
                return _error(
                    429,
                    "TOO_MANY_REQUESTS",
                    "Rate limit exceeded, retry later.",
                    {
                        "Retry-After": str(max(0, math.ceil(retry_after))),
                        "X-RateLimit-Limit": "60",
                        "X-RateLimit-Interval-Length-Seconds": "60",
                        "X-RateLimit-Remaining": "0",
                    },
                )
            token = _bearer(request)
            seller_id = None if token is None else mp.seller_for_token(token)
            if seller_id is None:
                return _error(401, "UNAUTHORIZED", "Missing or invalid bearer token.")
            if seller_id in faults.settings.expired_sellers:
                return _error(401, "TOKEN_EXPIRED", "The access token has expired.")
            follow()
            mp.tap(name, "received", seller_id)
            try:
                response = await operation(request, seller_id)
            except ProtocolError as exc:
                return _error(400, exc.code, exc.message)
            mp.tap(name, "answered", seller_id, response.body)
            with mp.lock:
                cut = faults.chance(faults.settings.disconnect_probability)
            if cut:
                faults.record("disconnect_probability")
            return _CutOff(response) if cut else response

        return endpoint

    async def put_event_imports(request: Request, seller_id: str) -> Response:
        return _json(200, mp.subscribe(seller_id, await _body(request)))

    async def get_events(request: Request, seller_id: str) -> Response:
        params = request.query_params
        limit = validate.limit(params.getlist("limit"))
        types = validate.type_filter(params.getlist("eventTypeFilter"))
        data = mp.pull_json(seller_id, limit, types)
        with mp.lock:
            truncate = mp.faults.chance(mp.faults.settings.truncate_probability)
        if truncate:
            mp.faults.record("truncate_probability")
            data = data[: max(1, len(data) // 2)]
        return Response(data, status_code=200, media_type="application/json")

    async def delete_events(request: Request, seller_id: str) -> Response:
        return _json(200, mp.ack(seller_id, await _body(request)))

    async def post_cancellation(request: Request, seller_id: str) -> Response:
        created, body = mp.request_cancellation(seller_id, await _body(request))
        return _json(201 if created else 200, body)

    # --- control API ------------------------------------------------------------------
    def control(operation: Callable[[Request], Awaitable[Response]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            follow()
            try:
                return await operation(request)
            except (ProtocolError, ValueError, TypeError, KeyError) as exc:
                message = exc.message if isinstance(exc, ProtocolError) else str(exc).strip("'\"")
                return _error(400, "INVALID_REQUEST", message)

        return endpoint

    async def optional_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        return body

    async def get_faults(request: Request) -> Response:
        return _json(200, mp.faults.as_dict())

    async def post_faults(request: Request) -> Response:
        body = await optional_body(request)
        reset = body.pop("reset", False)
        if reset:
            mp.faults.reset()
        mp.faults.set(**body)
        return _json(200, mp.faults.as_dict())

    async def post_advance(request: Request) -> Response:
        body = await optional_body(request)
        if "to" in body:
            now = mp.advance_to(parse_instant_arg(body["to"]))
        else:
            seconds = body.get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise ValueError('give {"seconds": n} or {"to": "<RFC 3339 instant>"}')
            now = mp.advance(timedelta(seconds=seconds))
        return _json(200, {"now": ms_to_text(datetime_to_ms(now))})

    async def post_lose_events(request: Request) -> Response:
        body = await optional_body(request)
        since = body.get("since")
        until = body.get("until")
        lost = mp.lose_events(
            fraction=float(body.get("fraction", 1.0)),
            since=None if since is None else parse_instant_arg(since),
            until=None if until is None else parse_instant_arg(until),
            seller_id=body.get("sellerId"),
        )
        return _json(200, {"lost": lost})

    async def post_expire_inflight(request: Request) -> Response:
        body = await optional_body(request)
        return _json(200, {"expired": mp.expire_inflight(body.get("sellerId"))})

    async def post_inject(request: Request) -> Response:
        body = await optional_body(request)
        seller_id = body.get("sellerId") or mp.sellers[0]
        if body.get("kind") == "unknown":
            mp.inject_unknown_event(seller_id, body.get("type", "Channel:Order.GiftNote"), body.get("payload"))
        elif body.get("kind") == "malformed":
            mp.inject_malformed_event(seller_id, body.get("malformedKind", "float_quantity"))
        else:
            raise ValueError('kind must be "unknown" or "malformed"')
        return _json(200, {"events": mp.event_count(seller_id)})

    async def get_truth(request: Request) -> Response:
        seller_id = request.query_params.get("sellerId") or mp.sellers[0]
        account = request.query_params.get("account") or "kaufland-main"
        lines = "".join(
            json.dumps(o, ensure_ascii=False, separators=(",", ":")) + "\n" for o in mp.truth(seller_id, account)
        )
        return Response(lines.encode("utf-8", "backslashreplace"), media_type="application/x-ndjson")

    async def get_stats(request: Request) -> Response:
        return _json(200, mp.stats())

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "ERROR")
        return _error(status, code, f"{request.method} {request.url.path}: {getattr(exc, 'detail', 'error')}")

    routes = [
        Route("/v2/seller/event-imports", protocol("subscribe", put_event_imports), methods=["PUT"]),
        Route("/v2/seller/event", protocol("pull", get_events), methods=["GET"]),
        Route("/v2/seller/event", protocol("ack", delete_events), methods=["DELETE"]),
        Route("/v2/seller/order/cancellation-request", protocol("cancel", post_cancellation), methods=["POST"]),
        Route("/_sim/faults", control(get_faults), methods=["GET"]),
        Route("/_sim/faults", control(post_faults), methods=["POST"]),
        Route("/_sim/advance", control(post_advance), methods=["POST"]),
        Route("/_sim/lose-events", control(post_lose_events), methods=["POST"]),
        Route("/_sim/expire-inflight", control(post_expire_inflight), methods=["POST"]),
        Route("/_sim/inject", control(post_inject), methods=["POST"]),
        Route("/_sim/truth", control(get_truth), methods=["GET"]),
        Route("/_sim/stats", control(get_stats), methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: not_found})


class BackgroundServer:
    """An ASGI app served by uvicorn on a thread, on a listening socket of our own.

    Owning the socket lets `stop` and `start` close and reopen the same port (a channel
    that refuses connections for a while), and set TCP_NODELAY where asyncio would not.
    Also used by the tests' fake channels, so every loopback server starts the same way.
    """

    label = "server"
    graceful_seconds = 2

    def __init__(self, app: Any, port: int = 0, *, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Self:
        if self._server is not None:
            return self
        # IPPROTO_TCP explicitly: with protocol 0 asyncio does not recognise the accepted
        # sockets as TCP and never sets TCP_NODELAY, so every kept-alive answer waited for
        # the client's delayed ACK (measured 45 ms against 3.6 ms per request).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((self.host, self.port))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=self.graceful_seconds,
            loop="asyncio",
            http="h11",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"{self.label}:{self.port}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                sock.close()
                raise RuntimeError(f"the {self.label} server did not start on {self.url}")
            time.sleep(0.005)
        self._server, self._thread, self._socket = server, thread, sock
        return self

    def stop(self) -> None:
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is None:
            return
        server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
        if sock is not None:
            sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class SimServer(BackgroundServer):
    """A running marketplace server on 127.0.0.1 (a context manager that stops it)."""

    label = "marketplace"

    def __init__(
        self, mp: Marketplace, port: int = 0, *, host: str = "127.0.0.1", follow_wall_clock: bool = False
    ) -> None:
        self.marketplace = mp  # may be replaced while running: the next request uses the new one
        super().__init__(build_app(lambda: self.marketplace, follow_wall_clock=follow_wall_clock), port, host=host)
        logging.getLogger("uvicorn.error").addFilter(_QUIET_CUT_OFFS)

    def refuse_connections(self) -> None:
        """Stop listening: connections to the port are refused until `accept_connections`."""
        self.stop()

    def accept_connections(self) -> None:
        """Listen again, on the same port."""
        self.start()


def serve(mp: Marketplace, port: int = 0, *, host: str = "127.0.0.1", follow_wall_clock: bool = False) -> SimServer:
    """Start serving `mp` over HTTP; use as `with serve(mp) as server: ... server.url`."""
    return SimServer(mp, port, host=host, follow_wall_clock=follow_wall_clock).start()
