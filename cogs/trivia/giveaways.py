"""Questions that give each other away: never asked in the same round.

Found two ways. Automatically: question A's stem names question B's answer (or an alias)
as a whole phrase, compared as members type it ("In MARC field 245, ..." gives away
"Which field holds the title statement?"). Only distinctive phrases count: a number of
three or more characters (tags, years), several words, or an acronym or camelCase name
(`AACR2`, `LCSH`, `dmdSec`); a single plain word ("Work") is too common to judge, and a
phrase without digits that appears in more than a handful of stems ("Library of
Congress", "RDA") is the subject's vocabulary, not a clue. Declared: a question's `related: [ids]` for what
the automatic check cannot see (a stem that describes another's answer in other words).
The relation is symmetric.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cogs.trivia.matching import ARTICLES_ANY_CASE, normalise

if TYPE_CHECKING:
    from cogs.trivia.bank import Question

CONTEXT_STEMS = 6
"""A phrase (without digits) found in more stems than this is the subject's vocabulary."""


@dataclass(frozen=True)
class GiveAway:
    """`stem_of`'s question text names `answer_of`'s answer, as `phrase`."""

    stem_of: str
    answer_of: str
    phrase: str


def distinctive(text: str) -> bool:
    """Whether an answer is specific enough that finding it in a stem is a clue."""
    core = ARTICLES_ANY_CASE.sub("", text.strip())
    plain = normalise(core)
    if any(ch.isdigit() for ch in plain):
        return len(plain.replace(" ", "")) >= 3
    if " " in plain:
        return True
    return len(core) >= 3 and any(ch.isupper() for ch in core[1:])


def find_giveaways(questions: Sequence[Question]) -> list[GiveAway]:
    """Every (stem, answer) pair where a stem names another question's answer."""
    stems = {q.id: f" {normalise(q.question)} " for q in questions}
    found: list[GiveAway] = []
    for owner in questions:
        phrases = {normalise(p): p for p in (owner.answer, *owner.aliases) if distinctive(p)}
        for plain, phrase in phrases.items():
            needle = f" {plain} "
            holders = [qid for qid, stem in stems.items() if needle in stem]
            if len(holders) > CONTEXT_STEMS and not any(ch.isdigit() for ch in plain):
                continue  # the subject's vocabulary; a number (a tag, a year) always counts
            found.extend(GiveAway(qid, owner.id, phrase) for qid in holders if qid != owner.id)
    unique = {(g.stem_of, g.answer_of): g for g in found}  # one pair, however many phrases
    return sorted(unique.values(), key=lambda g: (g.answer_of, g.stem_of))


def conflict_map(questions: Sequence[Question]) -> dict[str, frozenset[str]]:
    """For each question id, the ids never to ask in the same round (found and declared)."""
    known = {q.id for q in questions}
    pairs: list[tuple[str, str]] = [(g.stem_of, g.answer_of) for g in find_giveaways(questions)]
    pairs += [(q.id, other) for q in questions for other in q.related if other in known]
    return _symmetric(pairs)


def _symmetric(pairs: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    linked: dict[str, set[str]] = {}
    for a, b in pairs:
        linked.setdefault(a, set()).add(b)
        linked.setdefault(b, set()).add(a)
    return {qid: frozenset(others) for qid, others in linked.items()}
