"""Prometheus metrics: what this process did, and the state of the installation.

Two kinds, exposed together:

- Counters and a histogram that this process updates: `observe_report` when a sync
  ends (the sync engine calls it), `observe_heartbeat` when the worker beats. They count
  what *this* process did since it started, so scrape every worker and the web process
  and sum in Prometheus (`sum by (account) (rate(channelport_syncs_total[5m]))`).
- Gauges read from the database at scrape time (`DatabaseCollector`): each account's
  lag (now minus its last successful sync), parked/rejected/unknown events, pending
  import requests, every running worker's heartbeat age. Every process reports the same
  values for these, so alert on `max by (account)`, not on a sum.

`render_metrics(rt)` is what the web app's `/metrics` answers; `start_metrics_server(rt,
port)` serves the same on a port of its own for `channelport worker run --metrics-port`.
docs/en/operator-guide.md has the reference of every name below and alerting examples.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder, start_http_server
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from sqlalchemy import func, select

from channelport import __version__
from channelport.store.db import read_only
from channelport.store.tables import channel_accounts, event_imports, received_events, workers

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from channelport.services.runtime import Runtime
    from channelport.services.sync import SyncReport

log = logging.getLogger(__name__)

ATTENTION_OUTCOMES = ("parked", "rejected", "unknown")
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
STALE_AFTER = timedelta(seconds=30)  # as services.worker: a worker silent this long is stale
GONE_AFTER = timedelta(hours=1)  # a worker silent this long died without saying so: no series of its own

# --- what this process did ----------------------------------------------------------------

SYNCS = Counter(
    "channelport_syncs", "Syncs this process ran or tried, by account and result "
    "(succeeded, failed, stopped, busy, skipped).", ["account", "result"], registry=None,
)
EVENTS = Counter(
    "channelport_events", "Events this process's syncs decided, by account, event type and outcome.",
    ["account", "type", "outcome"], registry=None,
)
SYNC_DURATION = Histogram(
    "channelport_sync_duration_seconds", "Wall-clock duration of the syncs this process ran, by account.",
    ["account"], buckets=DURATION_BUCKETS, registry=None,
)
HEARTBEATS = Counter("channelport_worker_heartbeats", "Heartbeats this worker process wrote.", registry=None)
LAST_HEARTBEAT = Gauge(
    "channelport_worker_last_heartbeat_timestamp_seconds", "When this worker process last wrote its heartbeat.",
    registry=None,
)
RUNNING_SYNCS = Gauge("channelport_worker_running_syncs", "Syncs this worker process runs right now.", registry=None)
BUILD = Info("channelport_build", "The Channelport version of this process.", registry=None)
BUILD.info({"version": __version__})

_PROCESS_METRICS: tuple[Any, ...] = (SYNCS, EVENTS, SYNC_DURATION, HEARTBEATS, LAST_HEARTBEAT, RUNNING_SYNCS, BUILD)
_RUNTIME_METRICS = (ProcessCollector(registry=None), PlatformCollector(registry=None))


def observe_report(report: SyncReport, duration: float | None = None) -> SyncReport:
    """Count one finished (or refused) sync; never raises into the sync. Returns the report."""
    try:
        SYNCS.labels(report.account, report.status).inc()
        for event_type, per_outcome in report.counts.items():
            for outcome, n in per_outcome.items():
                if n:
                    EVENTS.labels(report.account, event_type, outcome).inc(n)
        if duration is not None:
            SYNC_DURATION.labels(report.account).observe(max(0.0, duration))
    except Exception:  # noqa: BLE001 - metrics are never worth a failed sync
        log.exception("could not record the metrics of a sync")
    return report


def observe_heartbeat(*, running: int) -> None:
    HEARTBEATS.inc()
    LAST_HEARTBEAT.set_to_current_time()
    RUNNING_SYNCS.set(running)


# --- the installation's state, read at scrape time ------------------------------------------


class DatabaseCollector:
    """Gauges computed from the database on every scrape; `channelport_database_up` says if it answered."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def describe(self) -> Iterable[Metric]:
        return [_up_family(), *(family for _name, family in _families())]

    def collect(self) -> Iterator[Metric]:
        up = _up_family()
        try:
            families = list(self._collect())
        except Exception as exc:  # noqa: BLE001 - a scrape reports the outage instead of failing
            first_line = (str(exc).strip().splitlines() or [""])[0]
            log.warning("metrics: the database did not answer: %s: %s", type(exc).__name__, first_line)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _collect(self) -> Iterator[Metric]:
        now = self.rt.now()
        a, e, r, w = channel_accounts.c, event_imports.c, received_events.c, workers.c
        with read_only(self.rt.engine) as conn:
            accounts = list(conn.execute(select(
                a.id, a.name, a.active, a.locked, a.credentials_rejected, a.last_success_at, a.created_at,
                a.lease_owner, a.lease_expires_at,
            ).order_by(a.name)))
            attention = {
                (row.account_id, row.outcome): row.n
                for row in conn.execute(
                    select(r.account_id, r.outcome, func.count().label("n"))
                    .where(r.outcome.in_(ATTENTION_OUTCOMES))
                    .group_by(r.account_id, r.outcome)
                )
            }
            pending = dict(conn.execute(
                select(e.account_id, func.count()).where(e.pending.is_(True), e.enabled.is_(True)).group_by(e.account_id)
            ).all())
            worker_rows = list(conn.execute(select(w.id, w.host, w.state, w.heartbeat_at)))

        f = dict(_families())
        for acc in accounts:
            label = [acc.name]
            since = acc.last_success_at or acc.created_at
            f["channelport_account_lag_seconds"].add_metric(label, _seconds(now - since))
            if acc.last_success_at is not None:
                f["channelport_account_last_success_timestamp_seconds"].add_metric(label, acc.last_success_at.timestamp())
            f["channelport_account_active"].add_metric(label, int(acc.active))
            f["channelport_account_locked"].add_metric(label, int(acc.locked))
            f["channelport_account_credentials_rejected"].add_metric(label, int(acc.credentials_rejected is not None))
            syncing = acc.lease_owner is not None and acc.lease_expires_at is not None and acc.lease_expires_at > now
            f["channelport_account_syncing"].add_metric(label, int(syncing))
            f["channelport_account_pending_imports"].add_metric(label, pending.get(acc.id, 0))
            f["channelport_parked_events"].add_metric(label, attention.get((acc.id, "parked"), 0))
            f["channelport_rejected_events"].add_metric(label, attention.get((acc.id, "rejected"), 0))
            f["channelport_unknown_events"].add_metric(label, attention.get((acc.id, "unknown"), 0))
        states = {"running": 0, "stale": 0, "gone": 0, "stopped": 0}
        for row in worker_rows:
            state = _worker_state(row.state, now - row.heartbeat_at)
            states[state] = states.get(state, 0) + 1
            if state in ("running", "stale"):  # stopped and gone workers have no series of their own
                f["channelport_worker_heartbeat_age_seconds"].add_metric([row.id, row.host], _seconds(now - row.heartbeat_at))
        for state, count in sorted(states.items()):
            f["channelport_workers"].add_metric([state], count)
        yield from f.values()


def _up_family() -> GaugeMetricFamily:
    return GaugeMetricFamily("channelport_database_up", "1 when the database answered this scrape's queries.")


def _families() -> list[tuple[str, GaugeMetricFamily]]:
    specs = [
        ("channelport_account_lag_seconds", "Seconds since the account's last successful sync "
         "(since it was added, when it never had one).", ["account"]),
        ("channelport_account_last_success_timestamp_seconds", "When the account's last successful sync ended "
         "(absent when it never had one).", ["account"]),
        ("channelport_account_active", "1 when the account is active.", ["account"]),
        ("channelport_account_locked", "1 when the account's sync is locked (Abgleich gesperrt).", ["account"]),
        ("channelport_account_credentials_rejected", "1 when the channel rejected the account's credentials "
         "and no sync succeeded since.", ["account"]),
        ("channelport_account_syncing", "1 while a process holds the account's sync lease.", ["account"]),
        ("channelport_account_pending_imports", "Event imports requested again and not yet delivered to the "
         "channel.", ["account"]),
        ("channelport_parked_events", "Events waiting for their order (outcome parked).", ["account"]),
        ("channelport_rejected_events", "Events refused as invalid (outcome rejected).", ["account"]),
        ("channelport_unknown_events", "Events of a type Channelport does not know (outcome unknown).", ["account"]),
        ("channelport_worker_heartbeat_age_seconds", "Seconds since each running or stale worker's last heartbeat.",
         ["worker", "host"]),
        ("channelport_workers", "Workers by state: running, stale (silent for 30 s), gone (silent for an hour, "
         "never stopped: killed or crashed), stopped.", ["state"]),
    ]
    return [(name, GaugeMetricFamily(name, doc, labels=labels)) for name, doc, labels in specs]


def _worker_state(state: str, silent: timedelta) -> str:
    if state != "running":
        return state
    if silent > GONE_AFTER:
        return "gone"
    return "stale" if silent > STALE_AFTER else "running"


def _seconds(delta: timedelta) -> float:
    return max(0.0, delta.total_seconds())


# --- exposition -------------------------------------------------------------------------------


def build_registry(rt: Runtime) -> CollectorRegistry:
    """This process's counters, the database gauges and the process metrics, in one registry."""
    registry = CollectorRegistry(auto_describe=False)
    for collector in (*_PROCESS_METRICS, *_RUNTIME_METRICS, DatabaseCollector(rt)):
        registry.register(collector)
    return registry


def render_metrics(rt: Runtime, accept: str | None = None) -> tuple[bytes, str]:
    """The body and content type of a `/metrics` answer (OpenMetrics when `accept` asks for it)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(build_registry(rt)), content_type


def start_metrics_server(rt: Runtime, port: int, addr: str = "127.0.0.1") -> WSGIServer:
    """Serve /metrics on addr:port from a daemon thread; returns the server (`shutdown()` stops it)."""
    server, _thread = start_http_server(port, addr, registry=build_registry(rt))
    log.info("metrics on http://%s:%s/metrics", addr, server.server_port)
    return server

