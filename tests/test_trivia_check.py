"""`alcts-bot trivia check`: files and folders, rules said in plain words, numbers without
quotes, a wrong choice that repeats the answer, `related` ids, and which questions give
each other away; and the corrections in the shipped packs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cogs.trivia.bank import SHIPPED, load_bank
from cogs.trivia.check import check_pack, check_paths
from cogs.trivia.giveaways import find_giveaways
from tests.trivia_support import MINI_PACK


def alcts(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, timeout=60)


def test_the_cli_checks_a_folder_and_explains_its_rules(tmp_path: Path) -> None:
    packs = tmp_path / "packs"
    packs.mkdir()
    (packs / "mini.yaml").write_text(MINI_PACK)
    bad = packs / "bad.yaml"
    bad.write_text(MINI_PACK.replace("difficulty: medium", "difficulty: tricky").replace("mini-003", "mini-001"))
    (packs / "extra.yml").write_text(MINI_PACK)
    result = alcts("trivia", "check", str(packs), cwd=tmp_path)
    assert result.returncode == 1
    out = result.stdout
    assert f"{bad}:1: category 'mini' should be 'bad': a pack's category is its file name without .yaml" in out
    assert (f"{bad}:4: mini-001: the id should start with bad- (a question id is the file name, a hyphen and "
            "a number, like bad-001)") in out  # fmt: skip
    assert f"{bad}:11: mini-002: difficulty: Input should be 'easy', 'medium' or 'hard'" in out
    assert f"{bad}:19: mini-001: id already used at line 4" in out
    assert f"{packs / 'extra.yml'}: the bot reads only .yaml files; rename it to extra.yaml" in out
    assert f"{packs / 'mini.yaml'}: ok, 3 questions in mini (1 easy, 1 medium, 1 hard)" in out
    assert "The rules: a pack's category is its file name without .yaml" in out
    rules = alcts("trivia", "check", "--help", cwd=tmp_path).stdout
    assert "Its category is the file name without .yaml" in rules and "Numbers need no quotes" in rules


def test_unquoted_numbers_are_read_as_written(tmp_path: Path) -> None:
    pack = tmp_path / "mini.yaml"
    pack.write_text(MINI_PACK.replace('answer: "245"', "answer: 245").replace('["100", "250", "260"]', "[100, 020, 1.10]"))
    problems, found = check_pack(pack)
    assert problems == [] and found is not None
    question = found.questions[0]
    assert question.answer == "245" and question.wrong == ("100", "020", "1.10")  # not 16 and 1.1
    assert load_bank([tmp_path]).question("mini-001") == question  # the bot reads it the same way


@pytest.mark.parametrize(
    ("wrong", "problem"),
    [('["OCLC.", "IFLA", "NISO"]', "the wrong choice 'OCLC.' repeats the answer 'OCLC'"),
     ('["IFLA", "ifla", "NISO"]', "the wrong choices 'IFLA' and 'ifla' are the same"),
     ('["The OCLC", "IFLA", "NISO"]', "the wrong choice 'The OCLC' repeats the answer 'OCLC'")],
)  # fmt: skip
def test_a_wrong_choice_that_repeats_the_answer_is_caught(tmp_path: Path, wrong: str, problem: str) -> None:
    pack = tmp_path / "mini.yaml"
    pack.write_text(MINI_PACK.replace('["Library of Congress", "IFLA", "NISO"]', wrong))
    problems, found = check_pack(pack)
    assert found is None and problems == [f"{pack}:19: mini-003: question: {problem}"]


def test_a_wrong_choice_typed_like_the_answer_is_caught(tmp_path: Path) -> None:
    pack = tmp_path / "mini.yaml"
    pack.write_text(MINI_PACK.replace('"Record Description and Authority"', '"Resource Description & Acess"'))
    problems, _ = check_pack(pack)
    assert problems == [f"{pack}:11: mini-002: question: the wrong choice 'Resource Description & Acess' is so "
                        "close to the answer 'Resource Description and Access' that typing it would count as right"]  # fmt: skip


def test_related_ids_must_exist_and_give_aways_are_listed(tmp_path: Path) -> None:
    pack = tmp_path / "mini.yaml"
    pack.write_text(MINI_PACK.replace('source: "https://www.oclc.org/en/dewey.html"',
                                      'source: "https://www.oclc.org/en/dewey.html"\n    related: [mini-002, marc21-001, mini-404]')
                    .replace("What does RDA stand for?", "In field 245 of RDA records, what does RDA stand for?"))  # fmt: skip
    report = check_paths([pack])
    assert report.problems == [f"{pack}: mini-003: related: mini-404 is not a question in these packs or the shipped ones"]
    assert report.declared == 3
    pairs = {(g.stem_of, g.answer_of) for g in report.giveaways}
    assert ("mini-002", "mini-001") in pairs  # mini-002's question names 245, mini-001's answer
    result = alcts("trivia", "check", "--pairs", str(pack), cwd=tmp_path)
    assert "  mini-002 names the answer of mini-001: 245" in result.stdout
    assert "Kept out of the same round:" in result.stdout and "3 declared with related:." in result.stdout


def test_a_question_cannot_be_related_to_itself(tmp_path: Path) -> None:
    pack = tmp_path / "mini.yaml"
    pack.write_text(MINI_PACK.replace('source: "https://www.oclc.org/en/dewey.html"',
                                      'source: "https://www.oclc.org/en/dewey.html"\n    related: [mini-003]'))  # fmt: skip
    problems, _ = check_pack(pack)
    assert problems == [f"{pack}:19: mini-003: question: a question cannot be related to itself"]


# -- the shipped packs ----------------------------------------------------------------------

BANK = load_bank([SHIPPED])


def test_shipped_give_aways_include_the_known_ones_and_not_common_words() -> None:
    pairs = {(g.stem_of, g.answer_of) for g in find_giveaways(BANK.questions())}
    assert ("marc21-002", "marc21-001") in pairs  # "In MARC field 245, ..." gives away the title field
    assert ("metadata-032", "metadata-022") in pairs  # the METS 2 question names dmdSec
    assert ("alcts-history-004", "alcts-history-002") in pairs  # names RTSD
    assert not any(answer == "metadata-012" for _, answer in pairs)  # "work" is too common a word to judge
    assert BANK.conflicts("alcts-history-005") >= {"alcts-history-007", "alcts-history-018"}  # declared


def test_corrected_questions_say_what_is_true_now() -> None:
    mann = BANK.question("alcts-history-016")
    assert mann is not None and "Core" in mann.explanation and "Cataloging and Metadata Management" not in mann.explanation
    assert "coreoclc-margaret-mann-citation" in mann.source
    for qid in ("metadata-021", "metadata-022"):
        mets = BANK.question(qid)
        assert mets is not None and "METS 1" in mets.question and "METS 2" in mets.explanation
    for qid, answer in (("metadata-032", "mdSec"), ("metadata-033", "structSec")):
        mets2 = BANK.question(qid)
        assert mets2 is not None and mets2.answer == answer and "METS2.md" in mets2.source
    aat = BANK.question("marc21-025")
    assert aat is not None and "$c" in aat.question and "Art & Architecture" not in aat.question
    for qid in ("serials-eresources-013", "serials-eresources-014"):
        kbart = BANK.question(qid)
        assert kbart is not None and kbart.source == "https://www.niso.org/publications/rp-9-2014-kbart"
    assert not any("msi.dublincore.org" in q.source for q in BANK.questions())
