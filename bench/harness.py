"""Plumbing shared by `run.py` and `hotspots.py`: processes, databases, the feed's dates.

Every measured program runs in a process of its own, started here; its wall time is
taken around the whole process (start-up included: that is what a merchant waits for).
Its peak resident memory is the kernel's high-water mark of the program's own address
space, `VmHWM` in /proc/<pid>/status, read every 20 ms while it runs (a high-water mark
only grows, so a late read loses nothing but the last few milliseconds). `wait4`'s
`ru_maxrss` is no good here: Linux carries the parent's high-water mark into a child
across fork/vfork + exec, so every child of a runner that once held 260 MB reports at
least 260 MB. Its CPU time (user + system) is `wait4`'s, which is the child's own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time as dtime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
PYTHON = sys.executable
CHANNELPORT = str(Path(sys.executable).with_name("channelport"))

SELLER_ID = "S-BENCH"
TOKEN = "bench-token"
ACCOUNT = "bench"
SEED = 1
DAYS = 7.0  # the orders arrive over one busy week ...
SETTLE_DAYS = 28.0  # ... and then live their whole lives (returns come up to 3 weeks later)
BERLIN = ZoneInfo("Europe/Berlin")
PG_BASE = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the feed's dates -------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    orders: int
    from_date: date  # what the merchant types: `channelport import request --from`
    start: datetime  # the same instant in UTC: 00:00 Europe/Berlin of from_date

    @classmethod
    def for_orders(cls, orders: int) -> Feed:
        """Trading starts at local midnight far enough back that every order has settled by now."""
        today = datetime.now(BERLIN).date()
        from_date = today - timedelta(days=int(DAYS + SETTLE_DAYS) + 2)
        start = datetime.combine(from_date, dtime(0, 0), tzinfo=BERLIN).astimezone(timezone.utc)
        return cls(orders, from_date, start)

    @property
    def start_text(self) -> str:
        return self.start.strftime("%Y-%m-%dT%H:%M:%SZ")

    def sim_args(self) -> list[str]:
        return ["--orders", str(self.orders), "--seed", str(SEED), "--seller", f"{SELLER_ID}:{TOKEN}",
                "--days", str(DAYS), "--settle-days", str(SETTLE_DAYS), "--start", self.start_text]


# --- processes --------------------------------------------------------------------------


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    cpu_seconds: float = 0.0  # user + system time of the process (its threads together)

    @property
    def cpu_share(self) -> float:
        """CPU time over wall time: 1.0 is one core busy all the time."""
        return self.cpu_seconds / self.seconds if self.seconds > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def json(self) -> Any:
        """stdout as JSON (lines a profiler wrapped around the program, `py-spy> ...`, left out)."""
        return json.loads("\n".join(line for line in self.stdout.splitlines() if not line.startswith("py-spy>")))


def measure(cmd: list[str], *, env: dict[str, str] | None = None, stderr_to: Path | None = None,
            timeout: float = 3600.0) -> Measured:
    """Run `cmd` to its end; wall seconds, the child's peak RSS (MiB), exit code, stdout, CPU seconds."""
    with tempfile.TemporaryFile() as out, open(stderr_to or os.devnull, "ab") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        peak = _HighWater(proc.pid)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            watchdog.cancel()
            peak.stop()
        seconds = time.perf_counter() - began
        out.seek(0)
        stdout = out.read().decode("utf-8", "replace")
    return Measured(seconds, peak.kib / 1024, proc.returncode, stdout, usage.ru_utime + usage.ru_stime)


class _HighWater:
    """Polls VmHWM (KiB) of one process, once it runs its own program, until stopped."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, args=(interval,), daemon=True)
        self._thread.start()

    def _poll(self, interval: float) -> None:
        own = _cmdline(os.getpid())
        while not self._stop.is_set():
            # until the child has exec'd, it still shares (vfork) or copies (fork) our memory
            if _cmdline(self.pid) not in (own, b""):
                self.kib = max(self.kib, _vm_hwm(self.pid))
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read()
    except OSError:
        return b""


def _vm_hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run(cmd: list[str], *, env: dict[str, str] | None = None, stderr_to: Path | None = None,
        timeout: float = 600.0) -> str:
    """Run an unmeasured helper command; its stdout, or RuntimeError with the log's tail."""
    with open(stderr_to or os.devnull, "ab") as err:
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                              timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... exited {done.returncode}{tail(stderr_to)}")
    return done.stdout.decode("utf-8", "replace")


def tail(path: Path | None, lines: int = 8) -> str:
    if path is None or not path.exists():
        return ""
    text = path.read_text("utf-8", "replace").strip().splitlines()[-lines:]
    return ("; log " + str(path) + ":\n    " + "\n    ".join(text)) if text else ""


class Simulator:
    """`simserver.py` in a process of its own; `stop()` closes its stdin, which ends it."""

    def __init__(self, feed: Feed, log_path: Path, *, delay_ms: float = 0.0) -> None:
        self._log = open(log_path, "ab")
        delay = ["--delay-ms", str(delay_ms)] if delay_ms else []
        self.proc = subprocess.Popen([PYTHON, str(BENCH / "simserver.py"), *feed.sim_args(), *delay],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)
        self.info: dict[str, Any] = {}
        self.log_path = log_path

    def ready(self, timeout: float = 900.0) -> dict[str, Any]:
        """Wait for the listening line: {"url", "orders", "events", "mix", "plans", "generate_s"}."""
        result: list[bytes] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            self.stop()
            raise RuntimeError(f"the simulator did not start{tail(self.log_path)}")
        self.info = json.loads(result[0])
        return self.info

    @property
    def url(self) -> str:
        return self.info["url"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


# --- databases --------------------------------------------------------------------------


def postgres_available() -> str | None:
    """None when PostgreSQL answers at PG_BASE; otherwise why not."""
    try:
        import psycopg

        with psycopg.connect(_conninfo(PG_BASE), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def _conninfo(sqlalchemy_url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Database:
    """One throw-away database for one program: a SQLite file, or a PostgreSQL schema."""

    def __init__(self, kind: str, workdir: Path, name: str) -> None:
        self.kind = kind
        self.name = name
        if kind == "sqlite":
            self.path = workdir / f"{name}.db"
            self.url = f"sqlite:///{self.path}"
            self.schema = None
        else:
            self.schema = f"bench_{uuid.uuid4().hex[:8]}_{name}"
            self.url = f"{PG_BASE}?options=-csearch_path%3D{self.schema}"

    def create(self) -> Database:
        if self.schema is not None:
            self._pg(f'CREATE SCHEMA "{self.schema}"')
        return self

    def drop(self) -> None:
        if self.schema is None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            drop_schemas([self.schema])

    @staticmethod
    def _pg(sql: str) -> None:
        import psycopg

        with psycopg.connect(_conninfo(PG_BASE), autocommit=True) as conn:
            conn.execute(sql)


def drop_schemas(schemas: list[str]) -> None:
    import psycopg

    with psycopg.connect(_conninfo(PG_BASE), autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def leftover_schemas() -> list[str]:
    """Schemas of earlier benchmark runs that died before cleaning up."""
    import psycopg

    with psycopg.connect(_conninfo(PG_BASE), autocommit=True) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'bench\\_%'").fetchall()
    return [row[0] for row in rows]


# --- Channelport, as a merchant runs it -----------------------------------------------------


class Installation:
    """A Channelport installation (CHANNELPORT_HOME + database) with one account on the feed."""

    def __init__(self, db: Database, home: Path, log_path: Path) -> None:
        self.db = db
        self.home = home
        self.log_path = log_path
        self.env = {**os.environ, "CHANNELPORT_HOME": str(home), "CHANNELPORT_DATABASE_URL": db.url,
                    "BENCH_TOKEN": TOKEN, "NO_COLOR": "1", "COLUMNS": "120"}

    def cli(self, *args: str, timeout: float = 600.0) -> str:
        return run([CHANNELPORT, *args], env=self.env, stderr_to=self.log_path, timeout=timeout)

    def set_up(self, url: str, *settings: str) -> Installation:
        """`settings`: more of the account's `--set KEY=VALUE`."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.cli("init")
        more = [arg for setting in settings for arg in ("--set", setting)]
        self.cli("account", "add", ACCOUNT, "--kind", "event-api", "--url", url, "--seller-id", SELLER_ID,
                 "--token-env", "BENCH_TOKEN", "--set", "retry_deadline=60", *more)
        return self

    def request_from(self, day: date) -> None:
        self.cli("import", "request", ACCOUNT, "--from", day.isoformat())

    def sync(self, timeout: float = 3600.0) -> tuple[Measured, dict[str, Any]]:
        measured = measure([CHANNELPORT, "sync", ACCOUNT, "--json"], env=self.env, stderr_to=self.log_path,
                           timeout=timeout)
        try:
            report = measured.json()[0]
        except (ValueError, IndexError, KeyError):
            raise RuntimeError(f"channelport sync exited {measured.returncode} without a report"
                               f"{tail(self.log_path)}") from None
        if report.get("status") != "succeeded":
            raise RuntimeError(f"channelport sync {report.get('status')}: {str(report.get('error'))[:300]}")
        return measured, report


def compile_channelport() -> None:
    """Byte-compile Channelport's own modules, as installing it from a wheel does.

    The checkout is installed editable, as source. Where PYTHONDONTWRITEBYTECODE is set
    (on the machines this benchmark runs on, it is), every `channelport` process compiled
    its modules again: 0.07-0.08 s of each sync's start-up that an installed copy never
    pays, and that dlt, installed from a wheel, does not pay either. The compiled files
    land in `__pycache__` beside the sources (git-ignored); Python checks them against
    the sources' timestamps, so an edit is never run stale.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("channelport")
    for folder in spec.submodule_search_locations if spec and spec.submodule_search_locations else ():
        compileall.compile_dir(folder, quiet=1)


def fresh_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="channelport-bench-"))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
