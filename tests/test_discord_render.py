"""Discord's remembered renders (bot/platforms/discord_render.py): the same answer card is
made into a message once; cards with live parts (buttons) are made afresh each time."""

from bot.cards import Button, Card, notice
from bot.platforms.discord_render import remembered_renders, render


def test_a_plain_answer_is_made_once_and_each_card_as_itself() -> None:
    rendered = remembered_renders()
    first = rendered(notice("Your vote: RDA."))
    assert rendered(notice("Your vote: RDA.")) is first
    assert first.send_kwargs()["embed"].to_dict() == render(notice("Your vote: RDA.")).send_kwargs()["embed"].to_dict()
    other = rendered(notice("Your vote: MARC."))
    assert other.send_kwargs()["embed"].description != first.send_kwargs()["embed"].description


def test_cards_with_buttons_or_lists_are_made_afresh() -> None:
    rendered = remembered_renders()
    live = Card(text="Vote", buttons=(Button("RDA", "poll.vote:1:0"),))
    assert rendered(live) is not rendered(live)  # a View belongs to one message
    odd = Card(text="a list, not a tuple", fields=[])  # type: ignore[arg-type]
    assert rendered(odd).send_kwargs()["embed"].description == "a list, not a tuple"
