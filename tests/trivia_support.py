"""Shared by the trivia tests: a three-question pack, a console community that has it,
and helpers that read the open question's right button from the database."""

from __future__ import annotations

from pathlib import Path

from tests.harness import TestBot

MINI_PACK = """\
category: mini
title: "Mini"
questions:
  - id: mini-001
    question: "Which MARC 21 field holds the title statement?"
    answer: "245"
    wrong: ["100", "250", "260"]
    difficulty: easy
    explanation: "Field 245 is the Title Statement."
    source: "https://www.loc.gov/marc/bibliographic/bd245.html"
  - id: mini-002
    question: "What does RDA stand for?"
    answer: "Resource Description and Access"
    aliases: ["RDA"]
    wrong: ["Record Description and Authority", "Resource Data Archive", "Rules for Descriptive Access"]
    difficulty: medium
    explanation: "RDA is Resource Description and Access, the successor to AACR2."
    source: "https://www.rdatoolkit.org/about"
  - id: mini-003
    question: "Which organisation maintains the Dewey Decimal Classification?"
    answer: "OCLC"
    wrong: ["Library of Congress", "IFLA", "NISO"]
    difficulty: hard
    explanation: "OCLC owns and maintains the Dewey Decimal Classification."
    source: "https://www.oclc.org/en/dewey.html"
"""

ANSWERS = {"mini-001": "245", "mini-002": "Resource Description and Access", "mini-003": "OCLC"}


async def start_with_pack(tmp_path: Path, pack: str = MINI_PACK, name: str = "mini") -> TestBot:
    """A console community whose extra trivia folder holds `pack` as `name`.yaml."""
    packs = tmp_path / "packs"
    packs.mkdir(exist_ok=True)
    (packs / f"{name}.yaml").write_text(pack)
    return await TestBot(tmp_path, bot_trivia_packs=packs).start()


def in_id_order(testbot: TestBot) -> None:
    """Rounds ask questions in id order (mini-001, then mini-002...), so scores are planned."""
    trivia = testbot.bot.registry.commands["trivia start"].handler.__self__
    trivia.rng.choice = lambda seq: min(seq, key=lambda q: q.id)


async def correct_button(testbot: TestBot) -> int:
    """The 1-based button of the right answer to the open question."""
    value = await testbot.db.scalar(
        "SELECT correct FROM trivia_asked WHERE revealed_at IS NULL ORDER BY round_id DESC, position DESC LIMIT 1"
    )
    return int(value) + 1


async def correct_button_daily(testbot: TestBot) -> int:
    value = await testbot.db.scalar("SELECT correct FROM trivia_daily WHERE revealed_at IS NULL")
    return int(value) + 1
