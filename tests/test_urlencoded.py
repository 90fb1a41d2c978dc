"""The fast form decoder (bot/platforms/urlencoded.py) gives parse_qsl's answer, or its
error, for any body."""

import json
from urllib.parse import parse_qsl, quote_plus, urlencode

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.platforms.urlencoded import parse_form

MAX = 100
PIECES = st.sampled_from(["%", "%2", "%41", "%e2%9c%93", "%E2%9C", "%ZZ", "%5C", "\\", "\\x41", "+", "&", "=", "a", "é",
                          "%26", "%3D", "%2B", "%25", "%00", "%C3%A9", "%ff", " ", "\n"])  # fmt: skip


def stdlib(text: str) -> object:
    try:
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=MAX, errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        return type(exc)


def ours(text: str) -> object:
    try:
        return parse_form(text, MAX)
    except (ValueError, UnicodeDecodeError) as exc:
        return type(exc)


@settings(max_examples=1500)
@example("a=%41\\x41\\n\\")  # backslashes in a body are its own, never escapes
@example("a=%C3%A9%E2")  # escapes that are not UTF-8
@example("payload=%7B%7D&b")  # a field without "="
@given(st.lists(st.one_of(PIECES, st.text(max_size=3)), max_size=30).map("".join))
def test_any_body_decodes_as_parse_qsl_decodes_it(text: str) -> None:
    assert ours(text) == stdlib(text)


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=60), max_size=8))
def test_encoded_fields_come_back(fields: dict[str, str]) -> None:
    text = urlencode(fields)
    assert ours(text) == stdlib(text)
    if text:
        assert dict(parse_form(text, MAX)) == fields


def test_a_click_payload_and_the_field_limit() -> None:
    payload = json.dumps({"type": "block_actions", "text": "C++ 50% & more = ✓ \\n"})
    assert parse_form("payload=" + quote_plus(payload), MAX) == [("payload", payload)]
    assert ours("&".join(["a=1"] * MAX)) == [("a", "1")] * MAX
    assert ours("&".join(["a=1"] * (MAX + 1))) is ValueError
