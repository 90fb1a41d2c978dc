"""Keyword filters for job posts: plain words (case-insensitive, whole words) or a
`re:` regular expression, run with a time limit so a pathological pattern cannot stall
the bot (the `regex` module's timeout; Python's `re` has none)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import regex

log = logging.getLogger(__name__)

REGEX_SECONDS = 0.05  # per item
LONGEST_PATTERN = 200
SEPARATORS = re.compile(r"[,;]")


@dataclass(frozen=True)
class Filter:
    """`text`: terms separated by commas or semicolons (`cataloging, metadata librarian`),
    any of which may match; or `re:PATTERN`, one regular expression. Empty matches all."""

    text: str
    patterns: tuple[regex.Pattern[str], ...]

    @classmethod
    def parse(cls, text: str | None, name: str = "keywords") -> Filter:
        """Raises ValueError with one sentence naming `name` when a term is unusable."""
        text = (text or "").strip()
        if not text:
            return cls("", ())
        if len(text) > LONGEST_PATTERN:
            raise ValueError(f"{name} is {len(text)} characters; keep it to {LONGEST_PATTERN}")
        if text.startswith("re:"):
            try:
                return cls(text, (regex.compile(text[3:], regex.IGNORECASE),))
            except regex.error as exc:
                raise ValueError(f"{name}: {text[3:]!r} is not a valid regular expression ({exc})") from None
        terms = [" ".join(term.split()) for term in SEPARATORS.split(text)]
        words = [term for term in terms if term]
        if not words:
            raise ValueError(f"{name} has no words; write e.g. {name}=cataloging,metadata")
        patterns = tuple(regex.compile(r"(?<!\w)" + r"\s+".join(map(regex.escape, w.split())) + r"(?!\w)",
                                       regex.IGNORECASE) for w in words)  # fmt: skip
        return cls(text, patterns)

    @property
    def empty(self) -> bool:
        return not self.patterns

    def matches(self, text: str) -> bool:
        """Whether any term matches; a pattern that runs out of time counts as no match."""
        for pattern in self.patterns:
            try:
                if pattern.search(text, timeout=REGEX_SECONDS):
                    return True
            except TimeoutError:
                log.warning("job filter timed out pattern=%r", pattern.pattern[:80])
        return False


def passes(keywords: Filter, exclude: Filter, text: str) -> bool:
    """Posted when keywords are empty or match, and exclude does not match."""
    return (keywords.empty or keywords.matches(text)) and not (not exclude.empty and exclude.matches(text))
