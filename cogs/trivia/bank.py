"""Question packs: YAML files, one category each, validated by pydantic.

`check_pack` reports every problem with its file and line, for `alcts-bot trivia check`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).parent / "packs"
POINTS = {"easy": 100, "medium": 200, "hard": 300}


class Difficulty(StrEnum):
    EASY = "easy"
    MEDIUM = "medium"
    HARD = "hard"

    @property
    def points(self) -> int:
        return POINTS[self.value]


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: str = Field(pattern=r"^[a-z0-9-]+-\d{3,}$")
    question: str = Field(min_length=10, max_length=300)
    answer: str = Field(min_length=1, max_length=75)
    aliases: tuple[str, ...] = ()
    wrong: tuple[str, str, str]
    difficulty: Difficulty
    explanation: str = Field(min_length=10, max_length=400)
    source: str = Field(pattern=r"^https?://\S+$")

    @field_validator("wrong")
    @classmethod
    def _wrong_lengths(cls, value: tuple[str, str, str]) -> tuple[str, str, str]:
        for choice in value:
            if not choice or len(choice) > 75:
                raise ValueError(f"wrong choice {choice!r} must be 1 to 75 characters")
        return value

    @model_validator(mode="after")
    def _distinct(self) -> Question:
        choices = [self.answer.casefold(), *(w.casefold() for w in self.wrong)]
        if len(set(choices)) != 4:
            raise ValueError("the answer and the three wrong choices must all differ")
        lettered = [c for c in (self.answer, *self.wrong, *self.aliases) if c.strip().upper() in ("A", "B", "C", "D")]
        if lettered:
            raise ValueError(f"{lettered[0]!r} alone would be read as picking button {lettered[0].strip().upper()}; write it out")
        accepted = {self.answer.casefold(), *(a.casefold() for a in self.aliases)}
        clash = accepted & {w.casefold() for w in self.wrong}
        if clash:
            raise ValueError(f"an alias is also a wrong choice: {sorted(clash)}")
        return self

    @property
    def accepted(self) -> tuple[str, ...]:
        return (self.answer, *self.aliases)


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

    def add(self, pack: Pack) -> None:
        duplicate = [q.id for q in pack.questions if q.id in self.by_id]
        if pack.category in self.packs or duplicate:
            raise ValueError(f"pack {pack.category} repeats a category or ids {duplicate[:3]}")
        self.packs[pack.category] = pack
        for question in pack.questions:
            self.by_id[question.id] = (pack.category, question)

    def question(self, question_id: str) -> Question | None:
        found = self.by_id.get(question_id)
        return found[1] if found else None

    def category_of(self, question_id: str) -> str:
        return self.by_id[question_id][0]

    def title(self, category: str) -> str:
        pack = self.packs.get(category)
        return pack.title if pack else category

    def questions(self, category: str | None = None) -> list[Question]:
        if category is not None:
            return list(self.packs[category].questions)
        return [q for pack in self.packs.values() for q in pack.questions]


def load_bank(folders: Iterable[Path]) -> QuestionBank:
    """Every pack in the folders; a broken organizer pack is logged and skipped, not fatal."""
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


def _fast_load(path: Path) -> Pack | None:
    """The libyaml loader without line numbers: start-up stays quick; errors go the slow way."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        pack = Pack.model_validate(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))  # noqa: S506
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValidationError):
        return None
    return pack if pack.category == path.stem else None


# -- validation with line numbers ---------------------------------------------------------


class _LineLoader(yaml.SafeLoader):
    """Records the line of every mapping, so problems can point at the question."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def check_pack(path: Path) -> tuple[list[str], Pack | None]:
    """All problems as `file:line: message`, and the pack when there are none."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 (a SafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}: cannot read: {exc}"], None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        return [f"{path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}"], None
    if not isinstance(raw, dict):
        return [f"{path}:1: a pack is a mapping with category, title and questions"], None
    problems = []
    if raw.get("category") != path.stem:
        problems.append(f"{path}:{raw['__line__']}: category {raw.get('category')!r} should match the file name {path.stem!r}")
    questions = raw.get("questions") if isinstance(raw.get("questions"), list) else []
    seen: dict[str, object] = {}
    for item in questions:
        line = item.get("__line__", "?") if isinstance(item, dict) else "?"
        qid = item.get("id") if isinstance(item, dict) else None
        if isinstance(qid, str):
            if not qid.startswith(f"{path.stem}-"):
                problems.append(f"{path}:{line}: {qid}: id should start with {path.stem}-")
            if qid in seen:
                problems.append(f"{path}:{line}: {qid}: id already used at line {seen[qid]}")
            seen[qid] = line
        try:
            Question.model_validate(_strip_lines(item))
        except ValidationError as exc:
            qid = item.get("id", "?") if isinstance(item, dict) else "?"
            for error in exc.errors(include_url=False):
                where = ".".join(str(p) for p in error["loc"]) or "question"
                message = error["msg"].removeprefix("Value error, ")
                problems.append(f"{path}:{line}: {qid}: {where}: {message}")
    if problems:
        return problems, None
    try:
        pack = Pack.model_validate(_strip_lines(raw))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            where = ".".join(str(p) for p in error["loc"]) or "pack"
            problems.append(f"{path}:1: {where}: {error['msg'].removeprefix('Value error, ')}")
        return problems, None
    return problems, pack
