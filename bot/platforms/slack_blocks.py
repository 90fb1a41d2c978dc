"""Cards as Slack Block Kit, cut to Slack's limits, and Slack's text markup as plain text
for the core. Pure functions: no slack library, no I/O.

Link buttons (`Card.links`) are buttons with a `url` and the action_id `link:<n>`; Slack
still sends their clicks, which the adapter acknowledges and ignores (`is_link_click`).
Times (`bot.cards.timestamp`) become Slack's `<!date^UNIX^FORMAT|fallback>` in mrkdwn,
converted after escaping so the markup survives; in plain_text (headers, button labels)
and the notification text they are written in words, in UTC."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from bot.cards import (
    TIMESTAMP_BODY,
    Button,
    Card,
    Field,
    Link,
    Style,
    describe_time,
    readable_times,
    usable_links,
)
from bot.text import strip_mass_mentions

log = logging.getLogger(__name__)

MAX_BLOCKS = 50
MAX_ACTIONS = 25  # elements in one actions block
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
ACTION_ID = 255
LINK_URL = 3000
LINK_ACTION = "link"  # action_id `link:<n>`: a link button, whose click reaches no handler
HEADER_TEXT = 150
SECTION_TEXT = 3000
FIELD_TEXT = 2000
FIELDS_PER_SECTION = 10
ALT_TEXT = 2000
FALLBACK_TEXT = 3000  # the notification text; Slack keeps more, people read less
ELLIPSIS = "\u2026"

STYLES = {Style.PRIMARY: "primary", Style.SUCCESS: "primary", Style.DANGER: "danger"}

Block = dict[str, Any]

# -- outgoing: Card -> blocks -------------------------------------------------------------


def render(card: Card, image_file_id: str | None = None, spell: Callable[[str], str] = str) -> dict[str, Any]:
    """`text` and `blocks` for chat.postMessage, chat.update or a response_url post.

    `spell` rewrites the card's text (see `command_spelling`). Buttons and the footer are
    kept whole; when the content does not fit in the block budget, it is cut and a last
    context line says so.
    """
    card = replace(
        card, title=spell(card.title), text=spell(card.text), footer=spell(card.footer),
        fields=tuple(replace(f, name=spell(f.name), value=spell(f.value)) for f in card.fields),
    )  # fmt: skip
    content: list[Block] = []
    if card.title:
        content.append({"type": "header", "text": _plain(card.title, HEADER_TEXT)})
    content += [_section(chunk) for chunk in _chunks(card.text)]
    content += _fields(card.fields)
    if card.image is not None:
        alt = card.image.alt or card.image.filename
        if image_file_id:
            content.append({"type": "image", "slack_file": {"id": image_file_id},
                            "alt_text": fit(alt, ALT_TEXT, strip_mass_mentions)})  # fmt: skip
        else:
            content.append(_context(f"(chart not shown: {alt})"))
    tail = [_context(card.footer)] if card.footer else []
    tail += _actions(card.buttons, card.links)
    tail = tail[: MAX_BLOCKS - 1]
    room = MAX_BLOCKS - len(tail)
    if len(content) > room:
        hidden = len(content) - room + 1
        content = [*content[: room - 1], _context(f"{ELLIPSIS} {hidden} more part(s) not shown")]
    text = fit(card.plain_text() or " ".join(b.label for b in card.buttons) or ELLIPSIS, FALLBACK_TEXT)
    return {"text": text, "blocks": content + tail}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": fit(text, limit, plain), "emoji": True}


def plain(text: str) -> str:
    """Outside text for a plain_text element: no mass mentions, times in words."""
    return readable_times(strip_mass_mentions(text))


def _mrkdwn(text: str, limit: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": fit(text, limit)}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text, SECTION_TEXT)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text, SECTION_TEXT)]}


def _chunks(text: str) -> list[str]:
    """Long text as several sections, split between lines (a longer line is cut)."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines():
        candidate = f"{current}\n{line}" if current else line
        if current and len(mrkdwn(candidate)) > SECTION_TEXT:
            chunks.append(current)
            candidate = line
        current = candidate
    chunks.append(current)
    return [chunk for chunk in chunks if chunk.strip()]


def _fields(fields: tuple[Field, ...]) -> list[Block]:
    """Inline fields side by side (ten a section); the others one section each."""
    blocks: list[Block] = []
    row: list[dict[str, Any]] = []
    for f in fields:
        if not (f.name or f.value):
            continue
        if f.inline:
            row.append({"type": "mrkdwn", "text": _field_text(f, FIELD_TEXT)})
            if len(row) == FIELDS_PER_SECTION:
                blocks.append({"type": "section", "fields": row})
                row = []
            continue
        if row:
            blocks.append({"type": "section", "fields": row})
            row = []
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _field_text(f, SECTION_TEXT)}})
    if row:
        blocks.append({"type": "section", "fields": row})
    return blocks


def _field_text(f: Field, limit: int) -> str:
    """A field as its name in bold over its value, both escaped, in `limit` characters."""
    name = f"*{fit(f.name, HEADER_TEXT)}*\n" if f.name else ""
    return name + fit(f.value, max(1, limit - len(name))) if f.value else fit(f.name, limit)


def _actions(buttons: tuple[Button, ...], links: tuple[Link, ...] = ()) -> list[Block]:
    elements: list[dict[str, Any]] = []
    used: set[str] = set()
    for index, b in enumerate(buttons):
        value = b.custom_id
        if len(value) > BUTTON_VALUE:
            log.warning("button dropped: its id is longer than Slack allows action=%s", b.action)
            continue
        action_id = value[:ACTION_ID]
        if action_id in used:  # Slack wants unique action ids; the value still names the button
            action_id = f"{value[: ACTION_ID - 6]}#{index}"
        used.add(action_id)
        element: dict[str, Any] = {
            "type": "button", "text": _plain(b.label or b.action, BUTTON_TEXT),
            "action_id": action_id, "value": value,
        }  # fmt: skip
        if style := STYLES.get(b.style):
            element["style"] = style
        elements.append(element)
    for index, link in enumerate(usable_links(links, LINK_URL)):
        action_id = f"{LINK_ACTION}:{index}"
        if action_id in used:  # a button's own id looks like a link's: keep both unique
            action_id = f"{LINK_ACTION}:{index}#link"
        used.add(action_id)
        elements.append({"type": "button", "text": _plain(link.label, BUTTON_TEXT), "action_id": action_id,
                         "url": link.url})  # fmt: skip
    return [
        {"type": "actions", "elements": elements[start : start + MAX_ACTIONS]}
        for start in range(0, len(elements), MAX_ACTIONS)
    ]


def is_link_click(action: dict[str, Any]) -> bool:
    """A click on a link button: Slack opened the page; there is nothing to handle."""
    return str(action.get("action_id", "")).startswith(f"{LINK_ACTION}:") and not action.get("value")


DM_REFUSALS = {  # errors of conversations.open / chat.postMessage that mean: no DM can reach them
    "cannot_dm_bot": "is a bot and takes no direct messages",
    "user_not_found": "is not in this workspace",
    "user_not_visible": "cannot be seen by the bot",
    "user_disabled": "has a deactivated account",
    "messages_tab_disabled": "does not accept direct messages from the bot",
    "not_allowed": "does not accept direct messages from the bot",
    "restricted_action": "cannot be sent direct messages here (a workspace setting)",
    "is_archived": "has a closed direct message with the bot",
}


def command_spelling(command: str, groups: Iterable[str]) -> Callable[[str], str]:
    """The core writes `/poll create`; on Slack that is `/alcts poll create` (and a bare
    `/help` would open Slack's own help)."""
    names = "|".join(sorted((re.escape(g) for g in groups), key=len, reverse=True))
    if not names:
        return str
    pattern = re.compile(rf"(?<![\w/<])/({names})(?![\w/-])")
    return lambda text: pattern.sub(lambda m: f"{command} {m.group(1)}", text)


# -- text: escaping and cutting -------------------------------------------------------------

CHANNEL_MENTION = re.compile(r"<#[CG][A-Z0-9]+(?:\|[^<>]*)?>")


MRKDWN_MARKS = re.compile(r"(?<![^\W_])([*_~])(?=\S)|(`)(?=\S)")
"""Slack's formatting marks that could open formatting: `*bold*`, `_italic_`, `~strike~`
where a word could start (not after a letter or digit: `webinars_channel` is never italic,
so it stays as typed and can be pasted back), and code anywhere; a zero-width space after
the mark keeps it plain text."""


def mrkdwn(text: str) -> str:
    """Outside text made safe for mrkdwn: formatting marks disarmed (card text never means
    Slack formatting), no mass mentions, `&<>` escaped (which also
    disarms user and group mentions); channel links, which notify nobody, stay clickable,
    and times become Slack dates (after escaping, so they are not escaped)."""
    text = MRKDWN_MARKS.sub(lambda m: f"{m.group()}\u200b", strip_mass_mentions(text))
    out: list[str] = []
    last = 0
    for match in CHANNEL_MENTION.finditer(text):
        out.append(_escape(text[last : match.start()]))
        out.append(match.group())
        last = match.end()
    out.append(_escape(text[last:]))
    return slack_dates("".join(out))


ESCAPED_TIMESTAMP = re.compile(f"&lt;{TIMESTAMP_BODY}&gt;")
DATE_FORMATS = {  # Discord's styles in Slack's date tokens
    "t": "{time}", "T": "{time_secs}", "d": "{date_short}", "D": "{date}",
    "f": "{date_long} {time}", "F": "{date_long} {time}", "R": "{ago}",
}  # fmt: skip


def slack_dates(escaped: str) -> str:
    """`&lt;t:UNIX:STYLE&gt;` (a timestamp after escaping) as `<!date^UNIX^FORMAT|fallback>`,
    shown in each reader's zone; the fallback is the time in words, in UTC."""
    if "&lt;t:" not in escaped:
        return escaped

    def date(match: re.Match[str]) -> str:
        fallback = describe_time(match.group(1), match.group(2))
        if fallback is None:
            return match.group(0)
        return f"<!date^{int(match.group(1))}^{DATE_FORMATS[match.group(2) or 'f']}|{fallback}>"

    return ESCAPED_TIMESTAMP.sub(date, escaped)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int, convert: Callable[[str], str] = mrkdwn) -> str:
    """`convert(text)` in at most `limit` characters, cut with an ellipsis before the
    conversion, so no escape (`&amp;`) or mention is cut in half."""
    out = convert(text)
    if len(out) <= limit:
        return out
    low, high = 0, min(len(text), limit)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if len(convert(text[:middle].rstrip())) < limit:
            low = middle
        else:
            high = middle - 1
    return convert(text[:low].rstrip()) + ELLIPSIS


# -- incoming: Slack markup -> core text ------------------------------------------------------

USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^<>]*))?>")
GROUP_MENTION = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|[^<>]*)?>")
SPECIAL_MENTION = re.compile(r"<!([a-z]+)(?:\|([^<>]*))?>")
LINK = re.compile(r"<((?:https?|mailto):[^|<>]+)(?:\|[^<>]*)?>")


def from_slack(text: str) -> str:
    """What a member typed, as they see it: `@name`, `@here`, bare URLs, `&` not `&amp;`.
    A user group becomes its id (S0123) and a channel stays `<#C0123|name>`, so settings
    such as moderator_role and announcements_channel keep the id Slack sent."""
    text = USER_MENTION.sub(lambda m: "@" + (m.group(2) or m.group(1)), text)
    text = GROUP_MENTION.sub(lambda m: m.group(1), text)
    text = SPECIAL_MENTION.sub(lambda m: m.group(2) or "@" + m.group(1), text)
    text = LINK.sub(lambda m: m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
