"""Charts as PNG bytes (matplotlib, headless Agg). Each chart carries its own white
background and dark text, so it reads the same in dark and light chat themes."""

from __future__ import annotations

import io
from typing import Any

from cogs.stats.metrics import Metrics

INK, GRID, BLUE, ORANGE, GREEN = "#222222", "#dddddd", "#1f6fb4", "#d9731f", "#2e8b57"


def _figure(width: float = 8.0, height: float = 3.6) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(width, height), dpi=110)
    figure.patch.set_facecolor("white")
    axes.set_facecolor("white")
    for spine in axes.spines.values():
        spine.set_color(GRID)
    axes.tick_params(colors=INK, labelsize=8)
    axes.grid(True, color=GRID, linewidth=0.6)
    return figure, axes


def _png(figure: Any) -> bytes:
    from matplotlib import pyplot

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", facecolor="white")
    pyplot.close(figure)
    return buffer.getvalue()


def _labels(metrics: Metrics) -> tuple[list[str], list[int]]:
    days = [d.day for d in metrics.days]
    step = max(1, len(days) // 8)
    return [days[i][5:] for i in range(0, len(days), step)], list(range(0, len(days), step))


def follow_rate_chart(metrics: Metrics, title: str) -> bytes:
    """Follow rate per day (followers / members, %) with the study's 25% line."""
    figure, axes = _figure()
    rates = [100 * d.follow_rate for d in metrics.days]
    axes.plot(range(len(rates)), rates, color=BLUE, linewidth=2, label="follow rate")
    axes.axhline(100 * metrics.reference_rate, color=ORANGE, linestyle="--", linewidth=1.5,
                 label=f"{100 * metrics.reference_rate:.0f}% (the study's reference)")  # fmt: skip
    axes.set_ylim(0, max(100 * metrics.reference_rate * 1.4, max(rates, default=0) * 1.15, 5))
    axes.set_ylabel("% of members following", color=INK, fontsize=9)
    axes.set_title(title, color=INK, fontsize=11)
    labels, ticks = _labels(metrics)
    axes.set_xticks(ticks, labels)
    axes.legend(fontsize=8, frameon=False, labelcolor=INK)
    return _png(figure)


def activity_chart(metrics: Metrics, title: str) -> bytes:
    """Daily active members and followers per day."""
    figure, axes = _figure()
    axes.bar(range(len(metrics.days)), [d.active for d in metrics.days], color=GREEN, alpha=0.7, label="active members")
    axes.plot(range(len(metrics.days)), [d.followers for d in metrics.days], color=BLUE, linewidth=2, label="followers")
    axes.set_title(title, color=INK, fontsize=11)
    labels, ticks = _labels(metrics)
    axes.set_xticks(ticks, labels)
    axes.legend(fontsize=8, frameon=False, labelcolor=INK)
    return _png(figure)


def content_chart(metrics: Metrics, title: str) -> bytes:
    """Events per feature, and the share of first-time participants who then followed."""
    figure, axes = _figure(6.0, 3.2)
    names = [f.feature for f in metrics.features]
    axes.bar(names, [f.events for f in metrics.features], color=BLUE)
    for index, feature in enumerate(metrics.features):
        if feature.conversion is not None:
            axes.annotate(f"{100 * feature.conversion:.0f}% followed", (index, feature.events), ha="center",
                          va="bottom", fontsize=8, color=INK)  # fmt: skip
    axes.set_ylabel("events", color=INK, fontsize=9)
    axes.set_title(title, color=INK, fontsize=11)
    return _png(figure)
