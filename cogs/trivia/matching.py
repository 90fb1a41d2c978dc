"""Typed answers: normalised, then fuzzy-matched strictly enough that "chair" never
matches "air", "reservation" never matches "preservation" and "245" never matches "246".

A typo is forgiven when the first letter is right and the guess is within a few edits
(a swap of two letters counts as one) of an accepted answer; short answers, and anything
with digits (tags, class numbers), must match exactly once normalised."""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import OSA

ARTICLES = re.compile(r"^(the|a|an)\s+")
ARTICLES_ANY_CASE = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)
NOT_WORD = re.compile(r"[^\w\s]")
SPACES = re.compile(r"\s+")
LETTERS = "ABCD"
EXACT_UP_TO = 4  # answers this short must match exactly once normalised


def normalise(text: str) -> str:
    """Case, diacritics, `&`/and, punctuation, leading articles and extra spaces fall away."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    plain = plain.casefold().replace("&", " and ").replace("-", " ").replace("_", " ")
    plain = NOT_WORD.sub("", plain)
    plain = SPACES.sub(" ", plain).strip()
    return ARTICLES.sub("", plain) or text.strip().casefold()  # an answer like "∞" is all symbol


def matches(typed: str, accepted: tuple[str, ...]) -> bool:
    """True when `typed` is one of the accepted answers, allowing small typos in long ones."""
    guess = normalise(typed)
    if not guess:
        return False
    for answer in accepted:
        target = normalise(answer)
        if not target:
            continue
        if guess == target or guess.replace(" ", "") == target.replace(" ", ""):
            return True
        if len(target) <= EXACT_UP_TO or any(ch.isdigit() for ch in target + guess):
            continue  # tags, class numbers and short words: exact only
        if guess[0] == target[0] and OSA.distance(guess, target) <= typos_allowed(target):
            return True
    return False


def typos_allowed(target: str) -> int:
    return 1 + len(target) // 12


def letter_choice(typed: str) -> int | None:
    """`b`, `B.` or `(B)` typed alone picks choice B."""
    cleaned = typed.strip().strip("().:").upper()
    return LETTERS.index(cleaned) if len(cleaned) == 1 and cleaned in LETTERS else None
