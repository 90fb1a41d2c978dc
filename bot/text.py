"""Text hygiene for content the bot repeats from members or from outside."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator

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


BLANKS = frozenset(
    "\u115f\u1160\u3164\uffa0"  # Hangul fillers (letters, default-ignorable)
    "\u2800"  # the empty braille pattern (a symbol)
    "\u180e"  # the Mongolian vowel separator (a letter in old Unicode versions)
    "\U00013441\U00013442"  # Egyptian hieroglyph full and half blanks
)
"""Letters and symbols that draw nothing."""


def shows(text: str) -> bool:
    """Whether `text` shows anything: at least one letter, number, punctuation mark or
    symbol (Unicode categories L, N, P, S) that is not a blank look-alike (`BLANKS`: Hangul
    fillers, the empty braille pattern). Spaces, format and control characters, and
    combining marks alone (variation selectors, the combining grapheme joiner, Khmer
    inherent vowels, accents on nothing) show nothing. Read as typed: `neutralise` removes
    only format characters, and its NFKC keeps every such character showing (a spacing
    accent, ´, becomes a space and a combining one, which still draws)."""
    return any(c not in BLANKS and unicodedata.category(c)[0] in "LNPS" for c in text)


def visible(text: str, what: str) -> str:
    """The one check for member text that must not be empty (a poll's question, a webinar's
    or job's title): `text` unchanged when it `shows` something, else ValueError naming
    `what` ("title"), for an `Args` validator, so a form shows it on the field."""
    if not shows(text):
        raise ValueError(f"the {what} has nothing visible in it (only spaces or invisible characters); type some words")
    return text


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


ECHO_LIMIT = 80
"""At most this many characters of what a member typed are repeated in an error."""


def echo(text: object, limit: int = ECHO_LIMIT) -> str:
    """A member's input as an error repeats it: one line, cut to `limit` characters (the
    last an ellipsis). The one clip every error that quotes input goes through."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip("…") + "…"  # one ellipsis, never two


def quoted(text: object, limit: int = ECHO_LIMIT) -> str:
    """`echo` in quotes, as errors show what was typed: `'zzz…' is not a duration`."""
    return repr(echo(text, limit))


def clip_echoes(message: str, *typed: object, limit: int = ECHO_LIMIT) -> str:
    """`message` with every run of more than `limit` characters that repeats any of `typed`
    (strings, or lists and dicts of them; compared in any case) cut to `limit` characters:
    whoever wrote the message (pydantic, a validator), it never echoes long input."""
    sources = [s for s in _strings(typed) if len(s) > limit]
    if not sources or len(message) <= limit:
        return message
    forms = {form: cut for s in sources for form, cut in ((s.strip(), echo(s, limit)), (s, echo(s, limit)),
                                                            (repr(s), quoted(s, limit)))}  # fmt: skip
    for whole in sorted(forms, key=len, reverse=True):
        if len(whole) > limit and whole in message:  # the usual echo, found at once
            message = message.replace(whole, forms[whole])
    lowered = message.lower()
    if len(lowered) != len(message):  # a letter whose lower case is longer: compare as typed
        lowered = message
    haystack = "\x00".join(sources).lower()
    block = limit // 2  # a run over `limit` holds a whole block at a multiple of `block`
    out, done, at = [], 0, 0
    while at + block <= len(message):
        if lowered[at : at + block] not in haystack:
            at += block
            continue
        stop = at + block
        start = _bisect(done, at, lambda a, stop=stop: lowered[a:stop] in haystack)
        end = _bisect(len(message), stop, lambda b, start=start: lowered[start:b] in haystack)
        if end - start > limit:
            run = message[start:end]
            if message.startswith("…", end):  # cut once already: cut again, still one ellipsis
                end += 1
                run += "…"
            lead = run[0] if run[0].isspace() else ""  # the message keeps its spacing
            trail = run[-1] if run[-1].isspace() else ""
            out += [message[done:start], lead + echo(run, limit) + trail]
            done = end
        at = max(end, at + block)
    return "".join(out) + message[done:] if out else message


def _bisect(far: int, near: int, holds: Callable[[int], bool]) -> int:
    """The index between `near` (where `holds`) and `far` farthest from `near` where it
    still holds (it holds on a range that grows from `near`)."""
    step = 1 if far > near else -1
    good, bad = near, far + step
    while abs(bad - good) > 1:
        middle = (good + bad) // 2
        if holds(middle):
            good = middle
        else:
            bad = middle
    return good


def _strings(values: Iterable[object]) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from _strings(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            yield from _strings(value)


def channel_from_text(text: str) -> tuple[str, str]:
    """(id, name) of a channel typed as `#name`, `<#123>` (Discord) or `<#C123|name>` (Slack)."""
    text = text.strip()
    mention = CHANNEL_MENTION.match(text)
    if mention:
        return mention.group(1), mention.group(2) or mention.group(1)
    name = text.lstrip("#")
    return name, name
