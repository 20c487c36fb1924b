"""The benchmark's chart: throughput and peak memory per database and size (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SERIES = (
    ("Channelport, first backfill", ("channelport", "first_events_per_s"), "#1f77b4"),
    ("Channelport, same request again", ("channelport", "repeat_events_per_s"), "#9ecae1"),
    ("dlt pipeline", ("dlt", "events_per_s"), "#ff7f0e"),
    ("floor (executemany)", ("floor", "events_per_s"), "#7f7f7f"),
)
MEMORY = (
    ("Channelport", ("channelport", "peak_rss_mb"), "#1f77b4"),
    ("dlt pipeline", ("dlt", "peak_rss_mb"), "#ff7f0e"),
)


def _value(case: dict[str, Any], path: tuple[str, str]) -> float:
    part = case.get(path[0])
    return float(part.get(path[1]) or 0) if isinstance(part, dict) else 0.0


def draw(results: dict[str, Any], kinds: list[str], sizes: list[int], path: Path) -> Path:
    groups = [(kind, size, results[kind][str(size)]) for kind in kinds for size in sizes
              if str(size) in results.get(kind, {})]
    labels = [f"{'SQLite' if kind == 'sqlite' else 'PostgreSQL'}\nN = {size:,}" for kind, size, _ in groups]
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5.5), gridspec_kw={"width_ratios": [3, 2]})

    width = 0.8 / len(SERIES)
    for index, (name, key, colour) in enumerate(SERIES):
        xs = [g + (index - (len(SERIES) - 1) / 2) * width for g in range(len(groups))]
        values = [_value(case, key) for _, _, case in groups]
        bars = left.bar(xs, values, width, label=name, color=colour)
        for bar, value in zip(bars, values):
            if value:
                left.annotate(f"{value:,.0f}", (bar.get_x() + bar.get_width() / 2, value), ha="center", va="bottom",
                              fontsize=7, rotation=90, xytext=(0, 2), textcoords="offset points")
    left.set_yscale("log")
    highest = max((_value(case, key) for _, _, case in groups for _, key, _ in SERIES), default=0)
    if highest:
        left.set_ylim(top=highest * 12)  # a decade of room above the bars for the legend
    left.set_ylabel("events per second (log scale)")
    left.set_xticks(range(len(groups)), labels)
    left.set_title("Throughput on the same feed (wall time of each process)")
    left.legend(fontsize=8, loc="upper left")
    left.grid(axis="y", which="both", alpha=0.3)

    width = 0.8 / len(MEMORY)
    for index, (name, key, colour) in enumerate(MEMORY):
        xs = [g + (index - (len(MEMORY) - 1) / 2) * width for g in range(len(groups))]
        values = [_value(case, key) for _, _, case in groups]
        bars = right.bar(xs, values, width, label=name, color=colour)
        for bar, value in zip(bars, values):
            if value:
                right.annotate(f"{value:,.0f}", (bar.get_x() + bar.get_width() / 2, value), ha="center",
                               va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    target = results.get("targets", {}).get("peak_rss_mb")
    if target:
        right.axhline(target, color="red", linestyle="--", linewidth=1, label=f"target < {target} MB")
    right.set_ylabel("peak resident memory of the loading process (MB)")
    right.set_xticks(range(len(groups)), labels)
    right.set_title("Peak memory")
    right.legend(fontsize=8, loc="upper left")
    right.grid(axis="y", alpha=0.3)
    right.margins(y=0.2)

    machine = results.get("machine", {})
    fig.suptitle(f"Channelport backfill benchmark, commit {results.get('commit', '?')}, "
                 f"{machine.get('cpus')} CPUs ({machine.get('model')}), Python {machine.get('python')}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
