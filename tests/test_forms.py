"""Forms in the core (bot/forms.py): a command with a form opens it when used with nothing
after its name on a platform with forms, and the submission runs the command, with every
problem reported on the form's own fields. The platforms' modals are tested end to end in
tests/e2e; these tests hold the rules every platform shares."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cards import Card
from bot.forms import Form, FormErrors, FormField, FormValues, form_options
from bot.model import CommandInvoked, Member, MessageRef, Role
from cogs.polls import POLL_FORM
from tests.harness import TestBot


class FormRecorder:
    """A responder of a platform with forms: records what the core asked it to do."""

    def __init__(self, *, forms: bool = True) -> None:
        self.cards: list[Card] = []
        self.opened: list[tuple[str, Form]] = []
        self.errors: list[dict[str, str]] = []
        if not forms:
            self.open_form = None  # type: ignore[assignment]

    async def respond(self, card: Card) -> MessageRef | None:
        self.cards.append(card)
        return None

    async def open_form(self, name: str, form: Form, values: FormValues) -> bool:
        self.opened.append((name, form))
        return True

    async def form_errors(self, errors: dict[str, str]) -> None:
        self.errors.append(errors)


async def dispatch(harness: TestBot, recorder: FormRecorder, role: Role = Role.MEMBER, **event: Any) -> None:
    console = harness.console
    member = Member("console", "ann", "Ann", role)
    await harness.bot.dispatch(CommandInvoked(member, console.place, **event), recorder)
    await harness.bot.idle()


async def polls(harness: TestBot) -> list[Any]:
    rows = await harness.db.fetchall("SELECT question, (SELECT group_concat(label, '|') FROM poll_options WHERE poll_id = polls.id),"
                                    " multi, anonymous, hidden, closes_at FROM polls")
    return [tuple(row) for row in rows]


@pytest.fixture
async def harness(tmp_path: Path):
    bot = await TestBot(tmp_path).start()
    yield bot
    await bot.stop()


async def test_no_arguments_opens_the_form_and_creates_nothing(harness: TestBot) -> None:
    recorder = FormRecorder()
    await dispatch(harness, recorder, text="poll create")
    assert recorder.opened == [("poll create", POLL_FORM)]
    assert recorder.cards == [] and await polls(harness) == []
    await harness.db.flush()
    kinds = [row[0] for row in await harness.db.fetchall("SELECT kind FROM engagement_events")]
    assert kinds == ["form_opened"]  # not activity: the submission is


async def test_arguments_or_no_forms_keep_the_text_form(harness: TestBot) -> None:
    recorder = FormRecorder()
    await dispatch(harness, recorder, text='poll create "Tea?" yes no')
    assert recorder.opened == [] and len(await polls(harness)) == 1
    no_forms = FormRecorder(forms=False)
    await dispatch(harness, no_forms, text="poll create")
    assert no_forms.cards[0].text.startswith("poll create: QUESTION is missing.")


async def test_every_problem_is_shown_on_its_own_field(harness: TestBot) -> None:
    recorder = FormRecorder()
    values = {"question": "x" * 301, "options": ["Only one"], "settings": [], "closes": "-5m"}
    await dispatch(harness, recorder, name="poll create", options=values, form=True)
    assert recorder.cards == [] and await polls(harness) == []
    (errors,) = recorder.errors
    assert set(errors) == {"question", "options", "closes"}
    assert "300" in errors["question"] and "at least 2 options" in errors["options"] and "past" in errors["closes"]


async def test_a_valid_submission_creates_the_poll(harness: TestBot) -> None:
    recorder = FormRecorder()
    values = {"question": "Next book?", "options": ["Dune", " ", "Emma", "Ulysses"],
              "settings": ["multi", "anonymous"], "closes": "3d"}  # fmt: skip
    await dispatch(harness, recorder, name="poll create", options=values, form=True)
    assert recorder.errors == []
    ((question, options, multi, anonymous, hidden, closes_at),) = await polls(harness)
    assert (question, multi, anonymous, hidden) == ("Next book?", 3, 1, 0)
    assert "Emma" in options and closes_at is not None
    assert "Next book?" in recorder.cards[0].title


async def test_options_typed_one_per_line_become_a_list() -> None:
    assert form_options(POLL_FORM, {"question": "Q", "options": "a\n\n b \nc", "settings": ["hidden"]}) == {
        "question": "Q", "options": ["a", "b", "c"], "multi": False, "anonymous": False, "hidden": True,
    }  # fmt: skip


async def test_a_handlers_error_lands_on_the_field_it_names(harness: TestBot) -> None:
    recorder = FormRecorder()
    values = {"title": "Cataloging 101", "when": "the day after never"}
    await dispatch(harness, recorder, Role.MODERATOR, name="webinar add", options=values, form=True)
    (errors,) = recorder.errors
    assert list(errors) == ["when"] and recorder.cards == []


async def test_the_form_keeps_permissions_and_quotas(harness: TestBot) -> None:
    recorder = FormRecorder()
    await dispatch(harness, recorder, name="webinar add", options={"title": "T", "when": "tomorrow 2pm"}, form=True)
    assert recorder.errors == []  # a refusal is no field's problem: a notice, and nothing stored
    assert [card.text for card in recorder.cards] == ["Only moderators can use /webinar add."]
    assert recorder.cards[0].ephemeral
    await dispatch(harness, recorder, text="webinar add")  # a member is refused before any form opens
    assert recorder.opened == []
    poll = {"question": "Tea?", "options": ["Yes", "No"]}
    for _ in range(6):  # /poll create's quota: 5 per member in 10 minutes, submitted by form or typed
        await dispatch(harness, recorder, name="poll create", options=poll, form=True)
    assert len(await polls(harness)) == 5
    assert recorder.errors == []  # over its quota is a refusal for now, which no field could fix
    assert recorder.cards[-1].text.startswith("You have used /poll create a lot just now")
    await dispatch(harness, recorder, text="poll create")  # and no form opens to be refused
    assert recorder.opened == [] and recorder.cards[-1].text.startswith("You have used /poll create")


async def test_every_field_problem_comes_at_once_without_typing_hints_for_a_picked_time(harness: TestBot) -> None:
    """The start is checked with the other arguments (not later, in the handler), so an
    invisible title and a past start are both shown; a picked time is not told how to type."""
    recorder = FormRecorder()
    past = (harness.clock.now() - timedelta(hours=1)).isoformat()  # what Slack's date and time picker sends
    await dispatch(harness, recorder, Role.MODERATOR, name="webinar add", options={"title": "\u200b", "when": past},
                   form=True)  # fmt: skip
    (errors,) = recorder.errors
    assert set(errors) == {"title", "when"}
    assert errors["title"].startswith("The title has nothing visible in it")
    assert errors["when"].endswith("is in the past; pick a time to come") and "times look like" not in errors["when"]
    far = (harness.clock.now() + timedelta(days=800)).isoformat()
    await dispatch(harness, recorder, Role.MODERATOR, name="webinar add", options={"title": "T", "when": far}, form=True)
    assert list(recorder.errors[-1]) == ["when"] and "more than two years ahead" in recorder.errors[-1]["when"]
    values = {"question": "\u200b \u200d", "options": ["a", "b"], "closes": past}
    await dispatch(harness, recorder, name="poll create", options=values, form=True)
    assert set(recorder.errors[-1]) == {"question", "closes"}
    assert "pick when voting ends" in recorder.errors[-1]["closes"] and '"friday 5pm"' not in recorder.errors[-1]["closes"]
    await harness.db.flush()
    assert await polls(harness) == [] and await harness.db.scalar("SELECT COUNT(*) FROM webinars") == 0


def test_a_picker_shows_its_own_hint() -> None:
    field = FormField("when", "Starts", kind="datetime", hint="Type a zone (ET)", picker_hint="In your own zone")
    assert field.hint_for(picker=True) == "In your own zone" and field.hint_for(picker=False) == "Type a zone (ET)"
    assert FormField("closes", "Ends", kind="datetime", hint="Empty: by hand").hint_for(picker=True) == "Empty: by hand"


async def test_multi_all_in_text_allows_every_option(harness: TestBot) -> None:
    out = await harness.push('/poll create "Pick" a b c multi=all')
    assert "choose up to 3" in out


def test_forms_respect_platform_limits() -> None:
    with pytest.raises(ValueError):
        Form("A title far longer than Slack allows", ())
    with pytest.raises(ValueError):
        FormField("x", "A label far longer than the forty-five characters Discord allows")


def test_form_errors_are_one_sentence_each() -> None:
    exc = FormErrors({"question": "Too long.", "options": "Needs two."})
    assert str(exc) == "Too long. Needs two."


async def test_help_says_which_commands_open_a_form(harness: TestBot) -> None:
    assert "alone opens a form" in await harness.push("/help poll create")
    assert "alone opens a form" not in await harness.push("/help poll results")
