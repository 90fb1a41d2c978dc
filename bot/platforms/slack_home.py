"""Slack's App Home tab: the cards the cogs give for a member's home (`Bot.home`), rendered
with the message renderer and published with `views.publish`.

The tab is published when the member opens it (`app_home_opened`) and again after each
click on it, so what it shows follows what is stored (RSVP counts, follow state). A click
on the tab has no channel and no `response_url`: its answers (a notice such as "You're
going to ...") are shown at the top of the republished tab instead of as a message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.cards import Card
from bot.model import MessageRef
from bot.platforms.slack_blocks import ELLIPSIS, Block, render

MAX_HOME_BLOCKS = 100  # Slack's limit for a Home tab view
DIVIDER: Block = {"type": "divider"}


def home_view(
    cards: list[Card], spell: Callable[[str], str] = str, notes: list[str] | None = None
) -> dict[str, Any]:
    """A `home` view: each card as its message blocks, a divider between cards. Cards that
    do not fit in Slack's 100 blocks are left out, and a last line says how many."""
    blocks: list[Block] = []
    for note in notes or []:
        blocks += render(Card(text=note), spell=spell)["blocks"]
    if blocks:
        blocks.append(DIVIDER)
    for index, card in enumerate(cards):
        rendered = render(card, spell=spell)["blocks"]
        separator = [DIVIDER] if index else []
        if len(blocks) + len(separator) + len(rendered) > MAX_HOME_BLOCKS - 1:
            left = len(cards) - index
            blocks.append({"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"{ELLIPSIS} {left} more part(s) not shown"}]})  # fmt: skip
            break
        blocks += separator + rendered
    if not blocks:
        blocks = render(Card(text="Nothing here yet."), spell=spell)["blocks"]
    return {"type": "home", "blocks": blocks}


class HomeResponder:
    """Answers a click on the Home tab: its cards' texts become notes at the top of the
    tab, which the adapter publishes again once the click is handled."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    async def respond(self, card: Card) -> MessageRef | None:
        if text := "\n".join(part for part in (card.title, card.text) if part):
            self.notes.append(text)
        return None
