"""Text hygiene for content the bot repeats from members or from outside."""

from __future__ import annotations

import re
import unicodedata

MASS_MENTIONS = re.compile(r"@(everyone|here|channel)\b|<!(everyone|here|channel)(\|[^>]*)?>", re.IGNORECASE)


def strip_mass_mentions(text: str) -> str:
    """`@everyone`, `@here`, `<!channel>` and friends lose their power to ping everyone.

    Repeated until nothing changes: one pass would turn `@@everyone` into `@everyone`."""
    while True:
        stripped = MASS_MENTIONS.sub(lambda m: (m.group(1) or m.group(2)).lower(), text)
        if stripped == text:
            return text
        text = stripped


PLATFORM_MENTIONS = re.compile(r"<(@[!&]?|#|!subteam\^)([A-Za-z0-9]+)(?:\|([^>]*))?>")
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")


MASKED_LINK = re.compile(r"\[([^\[\]\n]{0,2000})\]\(\s*<?([a-z][a-z0-9+.-]*:[^)\s>]{1,2000})>?(?:\s+\"[^\"]*\")?\s*\)", re.IGNORECASE)


def neutralise(text: str) -> str:
    """Text from the internet or a member made safe to repeat on any platform: Unicode
    NFKC (look-alike forms folded), zero-width and bidirectional controls removed (they
    hide or reorder text), mass mentions (`@everyone`, `<!channel>`) defused, user, role,
    channel and Slack group mentions (`<@123>`, `<@&9>`, `<#C1>`, `<!subteam^S1|@team>`)
    turned into plain text, and Markdown masked links (`[official form](https://…)`, which
    would hide where a link goes) shown as `official form (https://…)`."""
    text = INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    for _ in range(10):  # nested links unwrap one level a pass: `[[a](x)](y)`
        unwrapped = MASKED_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
        if unwrapped == text:
            break
        text = unwrapped
    text = PLATFORM_MENTIONS.sub(_plain_mention, text)
    return strip_mass_mentions(text)


def _plain_mention(match: re.Match[str]) -> str:
    kind, ident, label = match.groups()
    sign = "#" if kind == "#" else "@"
    return (label if label.startswith(("@", "#")) else sign + label) if label else sign + ident


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "\u2026"


def bar(share: float, width: int = 20) -> str:
    """A text bar for a share between 0 and 1: `##########` for a half."""
    filled = round(max(0.0, min(1.0, share)) * width)
    return "#" * filled


CHANNEL_MENTION = re.compile(r"^<#([A-Za-z0-9]+)(?:\|([^>]*))?>$")


def is_channel_mention(text: str) -> bool:
    return CHANNEL_MENTION.match(text.strip()) is not None


def channel_setting(text: str) -> str:
    """The one stored form of a channel typed in `/config set`: a mention as the platform
    sent it (`<#123>`, `<#C123|news>`), else `#name` in lower case, so `news`, `#news` and
    `#News` are the same channel. Raises ValueError for an empty name."""
    text = text.strip()
    if CHANNEL_MENTION.match(text):
        return text
    name = text.lstrip("#").strip().lower()
    if not name or any(c.isspace() for c in name):
        raise ValueError("give a channel, e.g. #news")
    return "#" + name


FORMULA_STARTS = ("=", "+", "-", "@", "|", "\t", "\r")
INVISIBLE_LEAD = "\ufeff\u200b\u200c\u200d\u2060\u00ad "


def spreadsheet_cell(value: str) -> str:
    """Text for a CSV cell: spreadsheets run cells that start with = + - @ | (or a tab or
    carriage return) as formulas, also after invisible characters, so those get a leading
    apostrophe (OWASP's CSV injection)."""
    return "'" + value if value.lstrip(INVISIBLE_LEAD).startswith(FORMULA_STARTS) else value


def echo(text: str, limit: int = 80) -> str:
    """A member's input as an error repeats it: one line, cut to `limit` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def channel_from_text(text: str) -> tuple[str, str]:
    """(id, name) of a channel typed as `#name`, `<#123>` (Discord) or `<#C123|name>` (Slack)."""
    text = text.strip()
    mention = CHANNEL_MENTION.match(text)
    if mention:
        return mention.group(1), mention.group(2) or mention.group(1)
    name = text.lstrip("#")
    return name, name
