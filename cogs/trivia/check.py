"""`alcts-bot trivia check`: every problem in question packs as `file:line: message`.

The rules, in plain words (also printed by `alcts-bot trivia check --help`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cogs.trivia.bank import SHIPPED, Pack, Question, load_bank
from cogs.trivia.giveaways import GiveAway, find_giveaways

RULES = """\
A pack is one YAML file per category. Its category is the file name without .yaml
(marc21.yaml holds category: marc21), and every question id is the file name, a hyphen
and a number (marc21-001). Each question has the question, the answer (aliases: other
ways to type it), three wrong choices that differ from the answer however they are
typed, a difficulty (easy, medium or hard), an explanation and a source address.
Numbers need no quotes (answer: 245). related: [ids] names questions never to ask in
the same round as this one; a question whose text names another's answer is kept apart
automatically. A folder is checked as every .yaml file in it."""


@dataclass
class Report:
    """What a check found: problems, the packs that passed, and which questions give each
    other away (never asked in the same round)."""

    problems: list[str] = field(default_factory=list)
    packs: list[tuple[Path, Pack]] = field(default_factory=list)
    giveaways: list[GiveAway] = field(default_factory=list)
    declared: int = 0


class _LineLoader(yaml.SafeLoader):
    """Records the line of every mapping, so problems can point at the question; plain
    values are text, as when the bot loads a pack."""

    yaml_implicit_resolvers: dict[str, Any] = {}  # as TextLoader: every plain value is text


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
    """All problems of one file as `file:line: message`, and the pack when there are none."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 (a SafeLoader)
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}"], None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        return [f"{path}{line}: not valid YAML: {getattr(exc, 'problem', exc)}"], None
    if not isinstance(raw, dict):
        return [f"{path}:1: a pack is a mapping with category, title and questions"], None
    problems = []
    if raw.get("category") != path.stem:
        problems.append(f"{path}:{raw['__line__']}: category {raw.get('category')!r} should be {path.stem!r}: "
                        "a pack's category is its file name without .yaml")  # fmt: skip
    questions = raw.get("questions") if isinstance(raw.get("questions"), list) else []
    seen: dict[str, object] = {}
    for item in questions:
        line = item.get("__line__", "?") if isinstance(item, dict) else "?"
        qid = item.get("id") if isinstance(item, dict) else None
        if isinstance(qid, str):
            if not qid.startswith(f"{path.stem}-"):
                problems.append(f"{path}:{line}: {qid}: the id should start with {path.stem}- (a question id is "
                                f"the file name, a hyphen and a number, like {path.stem}-001)")  # fmt: skip
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


def pack_files(paths: Iterable[Path]) -> tuple[list[Path], list[str]]:
    """The files to check: each file given, and every .yaml file in each folder given."""
    files: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            problems += [f"{other}: the bot reads only .yaml files; rename it to {other.stem}.yaml"
                         for other in sorted(path.glob("*.yml"))]  # fmt: skip
            if not found:
                problems.append(f"{path}: no .yaml packs in this folder")
            files += found
        else:
            files.append(path)
    unique = {file.resolve(): file for file in reversed(files)}  # a file named twice is checked once
    return [file for file in files if unique.get(file.resolve()) is file], problems


def check_paths(paths: Iterable[Path]) -> Report:
    """Check files and folders together: each file alone, then across them (ids used twice,
    `related` ids that exist nowhere) and which questions give each other away."""
    files, problems = pack_files(paths)
    report = Report(problems=problems)
    for path in files:
        found, pack = check_pack(path)
        report.problems += found
        if pack is not None:
            report.packs.append((path, pack))
    checked = {q.id: (path, q) for path, pack in report.packs for q in pack.questions}
    _across(report, checked)
    shipped = [q for q in load_bank([SHIPPED]).questions() if q.id not in checked]
    everything = [*shipped, *(q for _, q in checked.values())]
    known = {q.id for q in everything}
    for qid, (path, question) in checked.items():
        for other in question.related:
            if other not in known:
                report.problems.append(f"{path}: {qid}: related: {other} is not a question in these packs "
                                       "or the shipped ones")  # fmt: skip
        report.declared += len(question.related)
    report.giveaways = [g for g in find_giveaways(everything) if g.stem_of in checked or g.answer_of in checked]
    return report


def _across(report: Report, checked: dict[str, tuple[Path, Question]]) -> None:
    """Ids and categories must be unique across the files checked together."""
    owner: dict[str, Path] = {}
    categories: dict[str, Path] = {}
    for path, pack in report.packs:
        if pack.category in categories:
            report.problems.append(f"{path}: category {pack.category} is also {categories[pack.category]}")
        categories.setdefault(pack.category, path)
        for question in pack.questions:
            if question.id in owner and owner[question.id] != path:
                report.problems.append(f"{path}: {question.id}: id already used in {owner[question.id]}")
            owner.setdefault(question.id, path)
