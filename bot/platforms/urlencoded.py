"""`application/x-www-form-urlencoded` bodies (Slack's slash commands and interactive
payloads), decoded as `urllib.parse.parse_qsl` decodes them, about ten times faster.

A click's body is one field, `payload`, holding some 2 KB of percent-encoded JSON;
`parse_qsl` decodes each escape in a Python loop (about 115 us a click, measured; more
than our whole signature check and validation). Here the common case, an ASCII body whose
escapes are all well formed, is decoded in C by the codec that reads `\\xHH` escapes; any
other body (a stray `%`, a non-ASCII character, too many fields) goes to `parse_qsl`
itself, so the result, and every error, is always `parse_qsl`'s (property-tested in
tests/test_urlencoded.py).
"""

from __future__ import annotations

import codecs
from urllib.parse import parse_qsl


def parse_form(text: str, max_fields: int) -> list[tuple[str, str]]:
    """`parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text),
    max_num_fields=max_fields, errors="strict")`: (name, value) pairs in order. Raises
    ValueError (a field without `=`, more than `max_fields` fields) or UnicodeDecodeError
    (escapes that are not UTF-8), as parse_qsl does."""
    if text and text.count("&") < max_fields:
        try:
            pairs = []
            for field in text.split("&"):
                name, equals, value = field.partition("=")
                if not equals:
                    break  # parse_qsl says which field
                pairs.append((_unquote_plus(name), _unquote_plus(value)))
            else:
                return pairs
        except (ValueError, UnicodeError):  # parse_qsl decides: it may decode, or raise its own error
            pass
    return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=max_fields,
                     errors="strict")  # fmt: skip


def _unquote_plus(part: str) -> str:
    """`+` as a space and `%HH` as a byte, the bytes read as UTF-8; ValueError for a `%`
    not followed by two hex digits, UnicodeError for a non-ASCII part or bytes that are not
    UTF-8 (the caller then asks parse_qsl)."""
    if "%" not in part:
        return part.replace("+", " ")
    raw = part.replace("+", " ").encode("ascii").replace(b"\\", b"%5C").replace(b"%", b"\\x")
    return codecs.escape_decode(raw)[0].decode("utf-8")  # type: ignore[attr-defined,no-any-return]
