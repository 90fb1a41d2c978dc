"""How a poll looks: the live card, the results card, the PNG chart and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from bot.cards import Button, Card, Field, File, Image
from bot.text import bar
from bot.timeparse import closes_in
from storage.polls import Poll, Tally

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def live_card(poll: Poll, tally: Tally, now: datetime) -> Card:
    """The poll message while it is open: options with counts (unless hidden) and buttons."""
    status = [closes_in(poll.closes_at, now) if poll.closes_at else "open"]
    if poll.multi > 1:
        status.append(f"choose up to {poll.multi}")
    if poll.anonymous:
        status.append("anonymous")
    if poll.hidden:
        status.append("results hidden until it closes")
    fields = tuple(
        Field(label, "" if poll.hidden else str(count), inline=False)
        for label, count in zip(poll.options, tally.counts, strict=True)
    )
    buttons = tuple(Button(label, "poll.vote", (poll.id, pos)) for pos, label in enumerate(poll.options))
    return Card(
        title=f"Poll #{poll.id}  {poll.question}",
        text=f"({', '.join(status)})",
        fields=fields,
        buttons=buttons,
        footer=f"{_voters(tally.voters)} so far. Asked by {poll.creator_name or 'a former member'}.",
    )


def results_card(poll: Poll, tally: Tally, *, now: datetime | None = None, chart: bytes | None = None) -> Card:
    """Bars and shares; `now` is given while the poll is still open."""
    state = "closed." if not poll.is_open else f"(open, {_closing(poll, now)})"
    fields = tuple(
        Field(label, _bar_line(count, tally.voters, width=len(str(max(tally.counts, default=0)))), inline=False)
        for label, count in zip(poll.options, tally.counts, strict=True)
    )
    image = None
    if chart is not None:
        image = Image(f"poll-{poll.id}.png", chart, alt=f"bar chart of poll #{poll.id}")
    note = "Shares are of voters; each could choose several." if poll.multi > 1 else ""
    return Card(
        title=f"Poll #{poll.id} {state} {poll.question}",
        fields=fields,
        image=image,
        footer=" ".join(filter(None, [_voters(tally.voters) + ".", note])),
    )


def _closing(poll: Poll, now: datetime | None) -> str:
    if poll.closes_at is None or now is None:
        return "no deadline"
    return closes_in(poll.closes_at, now)


def _bar_line(count: int, voters: int, width: int) -> str:
    share = count / voters if voters else 0.0
    return f"{count:>{width}}  {bar(share):<20}  {round(share * 100):>3}%"


def _voters(n: int) -> str:
    return "1 voter" if n == 1 else f"{n} voters"


def chart_png(poll: Poll, tally: Tally) -> bytes:
    """A horizontal bar chart; matplotlib is imported here, so start-up stays light."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    height = 1.2 + 0.45 * len(poll.options)
    figure = Figure(figsize=(7, height), dpi=100)
    axes = figure.add_subplot()
    labels = list(reversed(poll.options))
    counts = list(reversed(tally.counts))
    axes.barh(labels, counts, color="#2b6cb0")
    for y, count in enumerate(counts):
        axes.text(count, y, f" {count}", va="center")
    axes.set_title(f"Poll #{poll.id}: {poll.question}"[:90], fontsize=10, loc="left")
    axes.set_xlabel("votes")
    axes.xaxis.get_major_locator().set_params(integer=True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def export_csv(poll: Poll, tally: Tally, votes: list[tuple[str, int, str]]) -> File:
    """Option, votes and share; one row per vote only when the poll is not anonymous."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["option", "votes", "share"])
    for label, count in zip(poll.options, tally.counts, strict=True):
        share = count / tally.voters if tally.voters else 0.0
        writer.writerow([safe_cell(label), count, f"{share:.1%}"])
    if not poll.anonymous:
        writer.writerow([])
        writer.writerow(["voter", "option", "voted_at"])
        for voter, position, voted_at in votes:
            writer.writerow([safe_cell(voter), safe_cell(poll.options[position]), voted_at])
    return File(f"poll-{poll.id}.csv", out.getvalue().encode("utf-8"), "text/csv")


def safe_cell(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas; quote them out."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
