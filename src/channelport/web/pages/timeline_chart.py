"""The import timeline's geometry: bars, gaps and failed-sync marks for a server-drawn SVG.

Drawn on the server so it needs no script and no chart library, and every bar can be a
plain link, reachable by keyboard, to the Import tab pre-filled with that bar's start:
"request the data again from here". Empty buckets get a visible mark of their own,
because the gap is what the merchant is looking for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from channelport.services.journal import Timeline

WIDTH, HEIGHT = 960, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 28, 12, 34


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    y: float
    height: float
    count: int
    local_start: datetime
    href: str


@dataclass(frozen=True)
class FailureMark:
    x: float
    run_id: int
    local_started_at: datetime
    error: str | None
    href: str


@dataclass(frozen=True)
class Tick:
    position: float
    value: int | datetime


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    plot_width: int
    plot_height: int
    bucket: str
    bars: list[Bar]
    failures: list[FailureMark]
    y_ticks: list[Tick]
    x_ticks: list[Tick]

    @property
    def baseline(self) -> int:
        return self.top + self.plot_height


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least `value` (at least 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return max(1, step * factor)
        step *= 10


def build_chart(timeline: Timeline, href: Callable[[datetime], str]) -> Chart:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(1, len(timeline.buckets))
    slot = plot_w / n
    top_value = nice_ceiling(timeline.peak)
    bars = []
    for i, b in enumerate(timeline.buckets):
        height = plot_h * b.count / top_value
        bars.append(Bar(x=LEFT + i * slot, width=slot, y=TOP + plot_h - height, height=height, count=b.count,
                        local_start=b.local_start, href=href(b.local_start)))
    span_start = timeline.buckets[0].start if timeline.buckets else timeline.start
    step = timedelta(days=1) if timeline.bucket == "day" else timedelta(hours=1)
    span = (timeline.buckets[-1].start + step - span_start) if timeline.buckets else step
    failures = []
    for f in timeline.failed:
        index = max(0, min(n - 1, int((f.started_at - span_start) / span * n)))
        failures.append(FailureMark(
            x=LEFT + plot_w * ((f.started_at - span_start) / span), run_id=f.id, local_started_at=f.local_started_at,
            error=f.error, href=bars[index].href if bars else href(f.local_started_at),
        ))
    y_ticks = [Tick(TOP + plot_h - plot_h * v / top_value, v) for v in sorted({0, top_value // 2, top_value})]
    every = max(1, round(n / 6))
    if timeline.bucket == "hour":
        x_ticks = [Tick(bar.x, bar.local_start) for bar in bars if bar.local_start.hour == 0][::5]
    else:
        x_ticks = [Tick(bar.x + bar.width / 2, bar.local_start) for bar in bars[::-1][::every]][::-1]
    return Chart(WIDTH, HEIGHT, LEFT, TOP, plot_w, plot_h, timeline.bucket, bars, failures, y_ticks, x_ticks)
