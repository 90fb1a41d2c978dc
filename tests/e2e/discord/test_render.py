"""Cards within Discord's limits: embeds, buttons, attachments, mass mentions."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.cards import Button, Card, Field, File, Image, Link, Style, timestamp
from bot.platforms.discord_render import BLANK, render


async def test_a_card_becomes_an_embed_and_buttons_in_rows() -> None:
    card = Card(title="Poll", text="Pick one", fields=(Field("A", "1 vote"),), footer="closes soon",
                buttons=tuple(Button(f"Option {i}", "poll.vote", (7, i), Style.PRIMARY) for i in range(7)))  # fmt: skip
    payload = render(card).send_kwargs()
    embed = payload["embed"].to_dict()
    assert (embed["title"], embed["description"], embed["footer"]["text"]) == ("Poll", "Pick one", "closes soon")
    assert embed["fields"] == [{"name": "A", "value": "1 vote", "inline": True}]
    rows = payload["view"].to_components()
    assert [len(r["components"]) for r in rows] == [5, 2]
    last = rows[1]["components"][1]
    assert (last["label"], last["custom_id"], last["style"]) == ("Option 6", "poll.vote:7:6", 1)
    assert payload["view"].is_finished()  # never kept in memory: clicks route by custom_id


async def test_limits_are_respected() -> None:
    card = Card(
        title="T" * 300, text="x" * 5000,
        fields=tuple(Field("n" * 300, "v" * 2000) for _ in range(30)),
        buttons=(*(Button("L" * 100, "a.b", (i,)) for i in range(30)), Button("too long", "a" * 101)),
    )  # fmt: skip
    payload = render(card).send_kwargs()
    embed = payload["embed"]
    assert len(embed.title) == 256 and len(embed.description) <= 4096
    assert len(embed.fields) <= 25 and all(len(f.name) <= 256 and len(f.value) <= 1024 for f in embed.fields)
    assert len(embed) <= 6000
    buttons = [c for row in payload["view"].to_components() for c in row["components"]]
    assert len(buttons) == 25 and all(len(b["label"]) <= 80 and len(b["custom_id"]) <= 100 for b in buttons)


async def test_mass_mentions_are_defused_everywhere() -> None:
    card = Card(title="@everyone", text="hi @here", fields=(Field("@everyone", "@here"),), footer="@here",
                buttons=(Button("@everyone", "x.y"),))  # fmt: skip
    payload = render(card).send_kwargs()
    shown = str(payload["embed"].to_dict()) + str(payload["view"].to_components())
    assert "@everyone" not in shown and "@here" not in shown
    assert payload["allowed_mentions"].to_dict() == {"parse": []}


async def test_charts_show_in_the_embed_and_downloads_are_attached() -> None:
    card = Card(text="growth", image=Image("growth.png", b"\x89PNG", alt="members by week"),
                file=File("poll-3.csv", b"option,votes\n"))  # fmt: skip
    rendered = render(card)
    files = rendered.send_kwargs()["files"]
    assert [f.filename for f in files] == ["growth.png", "poll-3.csv"]
    assert rendered.embed is not None and rendered.embed.image.url == "attachment://growth.png"
    assert [f.filename for f in rendered.edit_kwargs()["attachments"]] == ["growth.png", "poll-3.csv"]
    assert rendered.send_kwargs()["files"][0] is not files[0]  # fresh files: discord.py consumes them


async def test_an_edit_removes_what_the_new_card_lacks() -> None:
    edit = render(Card(text="closed")).edit_kwargs()
    assert edit["view"] is None and edit["attachments"] == [] and edit["content"] is None


async def test_buttons_alone_still_make_a_message() -> None:
    payload = render(Card(buttons=(Button("Go", "x.go"),))).send_kwargs()
    assert payload["content"] == BLANK and "embed" not in payload


WHEN = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)


async def test_links_are_link_buttons_after_the_others_within_the_limits() -> None:
    card = Card(text="Jobs", buttons=tuple(Button(f"Save {i}", "jobs.save", (i,)) for i in range(4)),
                links=(Link("Apply " + "x" * 100, "https://jobs.example.org/1"), Link("Bad", "javascript:alert(1)"),
                       Link("", "https://example.org/x"), Link("Long", "https://example.org/" + "a" * 600)))  # fmt: skip
    rows = render(card).send_kwargs()["view"].to_components()
    assert [len(r["components"]) for r in rows] == [5, 1]
    apply, host = rows[0]["components"][4], rows[1]["components"][0]
    assert apply["style"] == 5 and apply["url"] == "https://jobs.example.org/1" and "custom_id" not in apply
    assert len(apply["label"]) == 80
    assert (host["label"], host["url"]) == ("example.org", "https://example.org/x")
    crowded = Card(buttons=tuple(Button(str(i), "a.b", (i,)) for i in range(24)),
                   links=(Link("One", "https://a.org/"), Link("Two", "https://b.org/")))  # fmt: skip
    sent = [c for r in render(crowded).send_kwargs()["view"].to_components() for c in r["components"]]
    assert len(sent) == 25 and sent[-1]["url"] == "https://a.org/"


async def test_times_pass_through_where_discord_renders_them() -> None:
    card = Card(title=f"Webinar {timestamp(WHEN, 'D')}", text=f"Starts {timestamp(WHEN)}",
                fields=(Field("Closes", timestamp(WHEN, "R")),), footer=f"RSVP by {timestamp(WHEN, 'f')}",
                buttons=(Button(f"Remind me {timestamp(WHEN, 't')}", "x.y"),))  # fmt: skip
    payload = render(card).send_kwargs()
    embed = payload["embed"].to_dict()
    assert "title" not in embed and "footer" not in embed  # plain text there: moved into the description
    assert embed["description"] == "**Webinar <t:1796328000:D>**\nStarts <t:1796328000:F>\n-# RSVP by <t:1796328000:f>"
    assert embed["fields"][0]["value"] == "<t:1796328000:R>"
    assert payload["view"].to_components()[0]["components"][0]["label"] == "Remind me 20:00 UTC"
    plain = render(Card(title="Webinar", text="soon", footer="no time here")).send_kwargs()["embed"].to_dict()
    assert (plain["title"], plain["description"], plain["footer"]["text"]) == ("Webinar", "soon", "no time here")
