"""The Slack adapter's memory of the latest click on each message (its response_url edits
the message where the bot may not post): bounded, expiring, and O(1) a click."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

import pytest

from bot.model import MessageRef
from bot.platforms import slack_send
from bot.platforms.slack_send import CLICKED_MAX, RESPONSE_URL_LIFE, ResponseUrl, SlackSending


class CountingDict(OrderedDict[Any, Any]):
    """Counts the entries anything walks over."""

    walked = 0

    def __iter__(self) -> Iterator[Any]:
        for key in super().__iter__():
            self.walked += 1
            yield key

    def items(self) -> Any:
        return [(key, self[key]) for key in self]


class Clicks(SlackSending):
    def __init__(self) -> None:
        self._clicked = CountingDict()


def ref(n: int) -> MessageRef:
    return MessageRef("slack", "C1", f"{n}.0")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(slack_send.time, "monotonic", lambda: now[0])
    return now


def test_a_click_costs_the_same_however_many_are_remembered(clock: list[float]) -> None:
    clicks = Clicks()
    for n in range(CLICKED_MAX):
        clicks._remember_click(ref(n), ResponseUrl(f"https://hooks/{n}"))
    clicked = clicks._clicked
    assert isinstance(clicked, CountingDict)
    clicked.walked = 0
    for n in range(CLICKED_MAX, CLICKED_MAX + 100):  # each new click pushes the oldest out
        clicks._remember_click(ref(n), ResponseUrl(f"https://hooks/{n}"))
    assert clicked.walked <= 2 * 100  # not a walk over the thousand remembered (a list copy each click)
    assert len(clicked) == CLICKED_MAX and ("C1", "99.0") not in clicked and ("C1", "100.0") in clicked


def test_the_latest_click_wins_and_old_ones_expire(clock: list[float]) -> None:
    clicks = Clicks()
    clicks._remember_click(ref(1), ResponseUrl("https://hooks/a"))
    clicks._remember_click(ref(2), ResponseUrl("https://hooks/b"))
    clock[0] += 10
    clicks._remember_click(ref(1), ResponseUrl("https://hooks/c"))  # clicked again: now the newest
    assert list(clicks._clicked) == [("C1", "2.0"), ("C1", "1.0")]
    assert clicks._click_url("C1", "1.0") == "https://hooks/c"
    clock[0] += RESPONSE_URL_LIFE - 5  # message 2's click (10 s older) has expired, message 1's has not
    clicks._remember_click(ref(3), ResponseUrl("https://hooks/d"))
    assert list(clicks._clicked) == [("C1", "1.0"), ("C1", "3.0")]
    assert clicks._click_url("C1", "2.0") is None
    clock[0] += RESPONSE_URL_LIFE
    assert clicks._click_url("C1", "1.0") is None and ("C1", "1.0") not in clicks._clicked


def test_answers_are_rendered_once_and_each_card_as_itself() -> None:
    from bot.cards import Card, notice
    from bot.platforms.slack_blocks import render
    from bot.platforms.slack_send import remembered_renders

    sending = SlackSending()
    sending.spell = str
    sending._rendered = remembered_renders(str)
    first = sending.rendered(notice("Your vote: RDA."))
    assert sending.rendered(notice("Your vote: RDA.")) is first  # built once
    assert first == render(notice("Your vote: RDA."))
    assert sending.rendered(notice("Your vote: MARC.")) == render(notice("Your vote: MARC."))
    odd = Card(text="a list, not a tuple", fields=[])  # type: ignore[arg-type]  # unhashable: built afresh
    assert sending.rendered(odd) == render(odd)


def test_a_remembered_render_is_each_cards_own_when_cards_are_equal_but_differ() -> None:
    from bot.cards import Button, Card
    from bot.platforms.slack_blocks import render
    from bot.platforms.slack_send import remembered_renders

    """Found in review: a remembered render is looked up by Card equality, which is looser
    than the render (`True == 1`): a button with args (True,) got the blocks of an earlier
    card with args (1,). Cards with buttons are rendered afresh."""
    sending = SlackSending()
    sending.spell = str
    sending._rendered = remembered_renders(str)
    one = Card(text="Pick", buttons=(Button("Yes", "vote", (1,)),))
    yes = Card(text="Pick", buttons=(Button("Yes", "vote", (True,)),))
    assert sending.rendered(one) == render(one)
    assert sending.rendered(yes) == render(yes)
