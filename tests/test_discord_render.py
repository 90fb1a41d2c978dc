"""Discord's remembered renders (bot/platforms/discord_render.py): the same answer card is
made into a message once; cards with live parts (buttons) are made afresh each time."""

from bot.cards import Button, Card, notice
from bot.platforms.discord_render import remembered_renders, render


def test_a_plain_answer_is_made_once_and_each_card_as_itself() -> None:
    rendered = remembered_renders()
    first = rendered(Card(text="Poll #1 closed."))
    assert rendered(Card(text="Poll #1 closed.")) is first
    assert first.send_kwargs()["embed"].to_dict() == render(Card(text="Poll #1 closed.")).send_kwargs()["embed"].to_dict()
    other = rendered(Card(text="Poll #2 closed."))
    assert other.send_kwargs()["embed"].description != first.send_kwargs()["embed"].description
    assert rendered(notice("Your vote: RDA.")) is rendered(notice("Your vote: RDA."))


def test_a_private_line_of_text_is_sent_as_content_anything_more_as_an_embed() -> None:
    vote = render(notice("Your vote: RDA. @everyone")).send_kwargs()
    assert vote["content"].startswith("Your vote: RDA.") and "@everyone" not in vote["content"]
    assert "embed" not in vote and "view" not in vote
    assert "embed" in render(Card(text="Poll #1 closed.")).send_kwargs()  # public: an embed
    assert "embed" in render(notice("x" * 2001)).send_kwargs()  # past a message's 2,000 characters
    assert "embed" in render(Card(title="Your votes", text="RDA", ephemeral=True)).send_kwargs()
    assert "view" in render(Card(text="Pick", buttons=(Button("RDA", "poll.vote:1:0"),), ephemeral=True)).send_kwargs()


def test_cards_with_buttons_or_lists_are_made_afresh() -> None:
    rendered = remembered_renders()
    live = Card(text="Vote", buttons=(Button("RDA", "poll.vote:1:0"),))
    assert rendered(live) is not rendered(live)  # a View belongs to one message
    odd = Card(text="a list, not a tuple", fields=[])  # type: ignore[arg-type]
    assert rendered(odd).send_kwargs()["embed"].description == "a list, not a tuple"
