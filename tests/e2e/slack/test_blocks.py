"""Card -> Block Kit within Slack's limits, judged by the fake's copy of Slack's rules."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.cards import Button, Card, Field, Link, Style, timestamp
from bot.platforms.slack_blocks import (
    MAX_BLOCKS,
    command_spelling,
    fit,
    from_slack,
    is_link_click,
    mrkdwn,
    render,
)
from tests.e2e.slack.fake_slack import FakeSlack


def judge(message: dict) -> str | None:
    return FakeSlack(set()).block_error(message["blocks"])


def test_a_card_becomes_header_section_fields_context_and_actions() -> None:
    card = Card(
        title="Poll #3", text="Which *schema*?", fields=(Field("Votes", "12"), Field("Closes", "Friday")),
        footer="Anonymous", buttons=(Button("MARC", "poll.vote", (3, 0), Style.PRIMARY), Button("Stop", "poll.close", (3,), Style.DANGER)),
    )  # fmt: skip
    message = render(card)
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "section", "context", "actions"]
    assert message["blocks"][2]["fields"][0]["text"] == "*Votes*\n12"
    first, second = message["blocks"][-1]["elements"]
    assert (first["action_id"], first["value"], first["style"]) == ("poll.vote:3:0", "poll.vote:3:0", "primary")
    assert second["style"] == "danger"
    assert message["text"].startswith("Poll #3\nWhich *\u200bschema*?")  # a member's *marks* stay plain text
    assert judge(message) is None


def test_oversized_cards_are_cut_to_slacks_limits() -> None:
    card = Card(
        title="T" * 400,
        text="\n".join(f"line {i} " + "x" * 200 for i in range(200)),
        fields=tuple(Field(f"f{i}", "v" * 3000, inline=i % 2 == 0) for i in range(120)),
        buttons=tuple(Button("L" * 100, "act", (i,)) for i in range(30)) + (Button("dup", "act", (0,)),),
        footer="the end",
    )
    message = render(card)
    blocks = message["blocks"]
    assert judge(message) is None
    assert len(blocks) == MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) == 150 and blocks[0]["text"]["text"].endswith("\u2026")
    assert [len(b["elements"]) for b in blocks if b["type"] == "actions"] == [25, 6]
    assert blocks[-3]["elements"][0]["text"] == "the end"  # footer and buttons survive the cut
    assert "more part(s) not shown" in blocks[-4]["elements"][0]["text"]
    ids = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(set(ids)) == len(ids) and blocks[-1]["elements"][-1]["value"] == "act:0"


def test_outside_text_cannot_ping_everyone_or_break_markup() -> None:
    card = Card(title="@here news", text="<!channel> & @everyone <@U123> <#C0NEWS001|news>", footer="<!here>")
    message = render(card)
    text = message["blocks"][1]["text"]["text"]
    assert text == "channel &amp; everyone &lt;@U123&gt; <#C0NEWS001|news>"
    assert message["blocks"][0]["text"]["text"] == "here news"
    assert "<!here>" not in message["blocks"][2]["elements"][0]["text"]
    assert "<!channel>" not in message["text"]


def test_names_with_underscores_stay_as_typed_and_marks_that_format_are_disarmed() -> None:
    """`webinars_channel is now ...` once came out as `webinars_<U+200B>channel`, which pasted
    back into /config set was an unknown setting. Only a mark where formatting could start
    (not inside a word) gets the zero-width space."""
    for name in ("webinars_channel", "stats_raw_days", "/config set jobs_channel #jobs", "snake_case_name=1", "2*3*4"):
        assert mrkdwn(name) == name
    assert mrkdwn("_italic_ *bold* ~gone~ `code`") == "_\u200bitalic_ *\u200bbold* ~\u200bgone~ `\u200bcode`"
    assert mrkdwn("(_aside_) x *y*") == "(_\u200baside_) x *\u200by*"
    shown = render(Card(title="Community settings", fields=(Field("Webinars", "webinars_channel = #talks"),)))
    assert "\u200b" not in str(shown["blocks"]) and "webinars_channel = #talks" in shown["blocks"][1]["fields"][0]["text"]


def test_fit_never_cuts_an_escape_in_half() -> None:
    cut = fit("&" * 100, 22)
    assert cut == "&amp;" * 4 + "\u2026" and len(cut) <= 22
    assert fit("short", 10) == "short"
    assert mrkdwn("a<b") == "a&lt;b"


def test_slack_markup_reads_as_typed() -> None:
    typed = "poll create \u201cR&amp;D?\u201d <@U0ANN0001|ann> <!here> <https://example.org|site> <!subteam^S0ORGANIZ|@org> <#C0NEWS001|news>"
    assert from_slack(typed) == "poll create \u201cR&D?\u201d @ann @here https://example.org S0ORGANIZ <#C0NEWS001|news>"
    assert from_slack("<@U0ANN0001> 1 &lt; 2") == "@U0ANN0001 1 < 2"


def test_commands_are_spelled_the_slack_way() -> None:
    spell = command_spelling("/alcts", ["help", "poll", "follow"])
    text = "Try /help, /poll create or (/follow). Not https://x.org/poll/3, /pollster or /poll-ish."
    assert spell(text) == "Try /alcts help, /alcts poll create or (/alcts follow). Not https://x.org/poll/3, /pollster or /poll-ish."
    card = render(Card(title="/help", fields=(Field("/poll list", "see /help poll"),)), spell=spell)
    assert card["blocks"][0]["text"]["text"] == "/alcts help"
    assert card["blocks"][1]["fields"][0]["text"] == "*/alcts poll list*\nsee /alcts help poll"


WHEN = datetime(2026, 12, 3, 20, 0, tzinfo=UTC)
F_DATE = "<!date^1796328000^{date_long} {time}|Thursday 3 December 2026, 20:00 UTC>"


def test_links_are_url_buttons_whose_clicks_are_ignored() -> None:
    card = Card(text="Jobs", buttons=(Button("Save", "jobs.save", (1,)),),
                links=(Link("Apply " + "x" * 100, "https://jobs.example.org/1"), Link("Bad", "file:///etc/passwd"),
                       Link("Map", "https://maps.example.org/?q=a&b")))  # fmt: skip
    message = render(card)
    save, apply, map_ = message["blocks"][-1]["elements"]
    assert save["value"] == "jobs.save:1" and "url" not in save
    assert (apply["action_id"], apply["url"], "value" in apply) == ("link:0", "https://jobs.example.org/1", False)
    assert len(apply["text"]["text"]) == 75 and apply["text"]["type"] == "plain_text"
    assert (map_["action_id"], map_["url"]) == ("link:1", "https://maps.example.org/?q=a&b")
    assert judge(message) is None
    assert is_link_click({"action_id": "link:0", "type": "button"})
    assert not is_link_click({"action_id": "link:0", "value": "link:0"})  # a cog's own button named link
    assert not is_link_click({"action_id": "jobs.save:1", "value": "jobs.save:1"})


def test_times_become_slack_dates_in_mrkdwn_and_words_in_plain_text() -> None:
    card = Card(
        title=f"Webinar {timestamp(WHEN, 'D')}", text=f"Starts {timestamp(WHEN)} & <b> {timestamp(WHEN, 'R')}",
        fields=(Field(f"At {timestamp(WHEN, 't')}", timestamp(WHEN, "d")),), footer=f"by {timestamp(WHEN, 'T')}",
        buttons=(Button(f"Remind me {timestamp(WHEN, 't')}", "x.y"),),
    )  # fmt: skip
    message = render(card)
    header, section, fields, context, actions = message["blocks"]
    assert header["text"]["text"] == "Webinar 3 December 2026"
    assert section["text"]["text"] == (
        f"Starts {F_DATE} &amp; &lt;b&gt; <!date^1796328000^{{ago}}|3 December 2026, 20:00 UTC>"
    )
    assert fields["fields"][0]["text"] == (
        "*At <!date^1796328000^{time}|20:00 UTC>*\n<!date^1796328000^{date_short}|3 Dec 2026>"
    )
    assert context["elements"][0]["text"] == "by <!date^1796328000^{time_secs}|20:00:00 UTC>"
    assert actions["elements"][0]["text"]["text"] == "Remind me 20:00 UTC"
    assert "<!date" not in message["text"] and "Thursday 3 December 2026, 20:00 UTC" in message["text"]
    assert judge(message) is None
    assert mrkdwn("&lt;t:1796328000:F&gt; <t:1796328000:F>") == f"&amp;lt;t:1796328000:F&amp;gt; {F_DATE}"
