"""Question packs: YAML files, one category each, validated by pydantic.

A pack's `category` is its file name without `.yaml`, and every question id starts with
it (`marc21.yaml` holds `marc21-001`...). Plain YAML values are read as text, so
`answer: 245` and `answer: 1.10` mean what they say. `alcts-bot trivia check` reports
every problem with its file and line (cogs/trivia/check.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.errors import UserError
from bot.text import echo
from cogs.trivia.giveaways import conflict_map
from cogs.trivia.matching import matches, normalise

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).parent / "packs"
POINTS = {"easy": 100, "medium": 200, "hard": 300}
QUESTION_ID = r"^[a-z0-9-]+-\d{3,}$"
ID_PATTERN = re.compile(QUESTION_ID)


class Difficulty(StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"

    @property
    def points(self) -> int:
        return POINTS[self.value]


class Question(BaseModel):
    """One question; `related` names questions never to ask in the same round (a stem
    that gives away another's answer in other words than the answer itself)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, coerce_numbers_to_str=True)

    id: str = Field(pattern=QUESTION_ID)
    question: str = Field(min_length=10, max_length=300)
    answer: str = Field(min_length=1, max_length=75)
    aliases: tuple[str, ...] = ()
    wrong: tuple[str, str, str]
    difficulty: Difficulty
    explanation: str = Field(min_length=10, max_length=400)
    source: str = Field(pattern=r"^https?://\S+$")
    related: tuple[str, ...] = ()

    @field_validator("wrong")
    @classmethod
    def _wrong_lengths(cls, value: tuple[str, str, str]) -> tuple[str, str, str]:
        for choice in value:
            if not choice or len(choice) > 75:
                raise ValueError(f"wrong choice {choice!r} must be 1 to 75 characters")
        return value

    @field_validator("related")
    @classmethod
    def _related_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for other in value:
            if not ID_PATTERN.fullmatch(other):
                raise ValueError(f"{other!r} is not a question id like marc21-001")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> Question:
        problem = choice_problem(self.answer, self.aliases, self.wrong)
        if problem:
            raise ValueError(problem)
        if self.id in self.related:
            raise ValueError("a question cannot be related to itself")
        return self

    @property
    def accepted(self) -> tuple[str, ...]:
        return (self.answer, *self.aliases)


def choice_problem(answer: str, aliases: tuple[str, ...], wrong: tuple[str, ...]) -> str | None:
    """What makes the four choices unfair, in one sentence; None when they are fine.

    Compared as members type them (case, punctuation, articles and small typos aside), so
    a wrong choice that is the answer written differently is caught."""
    accepted = (answer, *aliases)
    for choice in wrong:
        if normalise(choice) == normalise(answer):
            return f"the wrong choice {choice!r} repeats the answer {answer!r}"
        if matches(choice, accepted):
            return f"the wrong choice {choice!r} is so close to the answer {answer!r} that typing it would count as right"
    seen: dict[str, str] = {}
    for choice in wrong:
        if normalise(choice) in seen:
            return f"the wrong choices {seen[normalise(choice)]!r} and {choice!r} are the same"
        seen[normalise(choice)] = choice
    lettered = [c for c in (*accepted, *wrong) if c.strip().upper() in ("A", "B", "C", "D")]
    if lettered:
        return f"{lettered[0]!r} alone would be read as picking button {lettered[0].strip().upper()}; write it out"
    clash = sorted({a for a in aliases if normalise(a) in seen})
    if clash:
        return f"an alias is also a wrong choice: {clash}"
    return None


class Pack(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str = Field(min_length=1, max_length=60)
    description: str = ""
    questions: tuple[Question, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids(self) -> Pack:
        seen: set[str] = set()
        for question in self.questions:
            if not question.id.startswith(self.category + "-"):
                raise ValueError(f"question id {question.id} should start with {self.category}-")
            if question.id in seen:
                raise ValueError(f"question id {question.id} appears twice")
            seen.add(question.id)
        return self


@dataclass
class QuestionBank:
    packs: dict[str, Pack] = field(default_factory=dict)
    by_id: dict[str, tuple[str, Question]] = field(default_factory=dict)
    _conflicts: dict[str, frozenset[str]] | None = field(default=None, repr=False)

    def add(self, pack: Pack) -> None:
        duplicate = [q.id for q in pack.questions if q.id in self.by_id]
        if pack.category in self.packs or duplicate:
            raise ValueError(f"pack {pack.category} repeats a category or ids {duplicate[:3]}")
        self.packs[pack.category] = pack
        for question in pack.questions:
            self.by_id[question.id] = (pack.category, question)
        self._conflicts = None

    def question(self, question_id: str) -> Question | None:
        found = self.by_id.get(question_id)
        return found[1] if found else None

    def category_of(self, question_id: str) -> str:
        return self.by_id[question_id][0]

    def title(self, category: str) -> str:
        pack = self.packs.get(category)
        return pack.title if pack else category

    def category_named(self, given: str | None) -> str | None:
        """The category a member typed (any case), None for none; an unknown one is refused
        with the list of categories."""
        if given is None:
            return None
        name = given.lower()
        if name not in self.packs:
            raise UserError(f"There is no category {echo(given)}. Categories: {', '.join(sorted(self.packs))}.")
        return name

    def questions(self, category: str | None = None) -> list[Question]:
        if category is not None:
            return list(self.packs[category].questions)
        return [q for pack in self.packs.values() for q in pack.questions]

    def conflicts(self, question_id: str) -> frozenset[str]:
        """Questions never asked in the same round as this one: a stem that names the other's
        answer, or a declared `related`. Worked out once, when a round first needs it."""
        if self._conflicts is None:
            self._conflicts = conflict_map(self.questions())
        return self._conflicts.get(question_id, frozenset())


def load_bank(folders: Iterable[Path]) -> QuestionBank:
    """Every pack in the folders; a broken organizer pack is logged and skipped, not fatal."""
    from cogs.trivia.check import check_pack

    bank = QuestionBank()
    for folder in folders:
        for path in sorted(folder.glob("*.yaml")):
            pack = _fast_load(path)
            if pack is None:
                problems, _ = check_pack(path)
                log.error("trivia pack skipped path=%s problems=%s", path, "; ".join(problems))
                continue
            try:
                bank.add(pack)
            except ValueError as exc:
                log.error("trivia pack skipped path=%s problem=%s", path, exc)
    return bank


class TextLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader, with every plain value read as text: a pack has no numbers,
    booleans or nulls, and `answer: 020` must not become 16."""

    yaml_implicit_resolvers: dict[str, Any] = {}


def _fast_load(path: Path) -> Pack | None:
    """The libyaml loader without line numbers: start-up stays quick; errors go the slow way."""
    try:
        pack = Pack.model_validate(yaml.load(path.read_text(encoding="utf-8"), Loader=TextLoader))  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError):
        return None
    return pack if pack.category == path.stem else None
