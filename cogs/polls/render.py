"""How a poll looks: the live card, the results card, the PNG chart and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime, tzinfo

from bot.cards import Button, Card, Field, File, Image, timestamp
from bot.clock import from_iso
from bot.text import bar, spreadsheet_cell
from bot.timeparse import closes_in
from storage.polls import Poll, Tally


def live_card(poll: Poll, tally: Tally, now: datetime) -> Card:
    """The poll message while it is open: options with counts (unless hidden) and buttons."""
    status = [_deadline(poll.closes_at, now) if poll.closes_at else "open"]
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
    width = len(str(max(tally.counts, default=0)))
    fields = tuple(
        Field(label, _bar_line(count, tally.voters, percent, width), inline=False)
        for label, count, percent in zip(poll.options, tally.counts, shares(poll, tally, 0), strict=True)
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
    return _deadline(poll.closes_at, now)


def _deadline(closes_at: datetime, now: datetime) -> str:
    """`closes in 2 hours (Friday 4 December 2026, 17:00)`: each reader sees the absolute
    time in their own zone on Discord and Slack, the community's on the console."""
    return f"{closes_in(closes_at, now)} ({timestamp(closes_at, 'f')})"


def shares(poll: Poll, tally: Tally, decimals: int) -> list[float]:
    """Each option's share of voters in percent, rounded to `decimals`. In a single-choice
    poll the shares sum to exactly 100 (largest-remainder rounding: each share is rounded
    down, and the units left over go to the largest remainders, ties to the earlier
    option); in a multiple-choice poll a voter counts once per option, so they need not."""
    if not tally.voters:
        return [0.0] * len(tally.counts)
    scale = 10**decimals
    exact = [count * 100 * scale / tally.voters for count in tally.counts]
    if poll.multi > 1:
        return [round(value) / scale for value in exact]
    floors = [int(value) for value in exact]
    left = 100 * scale - sum(floors)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in by_remainder[:left]:
        floors[i] += 1
    return [value / scale for value in floors]


def _bar_line(count: int, voters: int, percent: float, width: int) -> str:
    share = count / voters if voters else 0.0
    return f"{count:>{width}}  {bar(share):<20}  {percent:>3.0f}%"


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


def export_csv(poll: Poll, tally: Tally) -> File:
    """`poll-N.csv`: option, votes, share (percent; single-choice shares sum to 100). UTF-8
    with a byte-order mark and CRLF lines, so Excel and LibreOffice open it cleanly."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["option", "votes", "share_percent"])
    for label, count, percent in zip(poll.options, tally.counts, shares(poll, tally, 1), strict=True):
        writer.writerow([spreadsheet_cell(label), count, f"{percent:.1f}"])
    return File(f"poll-{poll.id}.csv", out.getvalue().encode("utf-8-sig"), "text/csv")


def export_votes_csv(poll: Poll, votes: list[tuple[str, int, str]], tz: tzinfo) -> File:
    """`poll-N-votes.csv` (polls that are not anonymous): voter, option, voted_at in the
    community's zone to the second (`2026-12-01 14:03:22`), the zone named in the header."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["voter", "option", f"voted_at ({tz})"])
    for voter, position, voted_at in votes:
        local = from_iso(voted_at).astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow([spreadsheet_cell(voter), spreadsheet_cell(poll.options[position]), local])
    return File(f"poll-{poll.id}-votes.csv", out.getvalue().encode("utf-8-sig"), "text/csv")
