"""Slack forms: a command's `Form` (bot/forms.py) opened as a modal, and the modal's
submission back through the core as the same command (`CommandInvoked(form=True)`). The
modal's shape, its metadata and the state's parsing are in bot/platforms/slack_modal.py.

How a form goes:

1. `/alcts poll create` with nothing after: the core calls the slash command's responder
   (`FormOpener.open_form`), which calls `views.open` with the command's `trigger_id`
   (single-use, valid 3 s after the command was sent: the adapter is still within its
   ack budget) and the modal. Where it cannot (no trigger, Slack refused), the core shows
   the command's usage instead.
2. "Add option" (a button in the modal) is a `block_actions` from the view: handled here,
   never as a core button press; `views.update` with the view's `hash` (so a stale or
   replayed click changes nothing) adds one input, up to the field's `items[1]`. Slack
   keeps what was typed because block and action ids do not change.
3. The `view_submission` (callback id `form:<command name>`) is checked like every request
   (signature, shape, replay: `slack_replay.request_identity`), its `view.state.values`
   become `FormValues`, and the command is dispatched in the channel kept in
   `private_metadata`, as the member (role resolved as for slash commands). It is
   acknowledged after dispatch has finished (acknowledged means stored): with
   `response_action: "errors"` (one sentence per block) when the core called
   `form_errors`, else empty (Slack closes the modal; a refusal for the member's role
   comes as an ephemeral notice). A view is submitted once: its id (`submitted`) is held
   while its command runs and recorded durably once the command is done without problems,
   so a second submission of the same view under another trigger_id stores nothing more,
   while one cut short by a crash, or sent back fixed, is handled. Past the ack budget (2.5 s: a slow
   feed fetch) the ack is empty and later problems come as an ephemeral message. Answers
   go to that channel: public cards with chat.postMessage, ephemeral ones with
   chat.postEphemeral (through the slash command's response_url, kept in the metadata,
   where the bot may not post). Busy, the submission is answered with the busy sentence
   on the form's first field: the modal stays open with what was typed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.cards import Card, notice
from bot.forms import Form, FormValues
from bot.model import CommandInvoked, Member, MessageRef, Place
from bot.platforms.slack_edge import Refused
from bot.platforms.slack_intake import AckGate
from bot.platforms.slack_modal import (
    ADD_PREFIX,
    FORM_PREFIX,
    FormState,
    FormSubmission,
    add_item,
    error_blocks,
    first_block,
    form_values,
    initial_state,
    modal,
    validate_submission,
)
from bot.platforms.slack_payloads import BlockActions, Model, SlashCommand
from bot.platforms.slack_send import PLATFORM, UNREACHABLE, SlackSending
from bot.platforms.slack_translate import SlackResponder, SlackTranslation

if TYPE_CHECKING:
    from slack_bolt.request.async_request import AsyncBoltRequest

    from bot.platforms.slack_edge import EdgeLog
    from bot.platforms.slack_intake import Intake

log = logging.getLogger("bot.platforms.slack")


def submitted(submission: FormSubmission) -> str:
    """The identity a form's view keeps once submitted: its view id. Slack sends a view's
    submission once, so another with the same view id (under any trigger_id) is a replay or
    a client sending it twice; it is recorded once the command is done without problems
    (with problems, the member fixes them and sends the same view again)."""
    return f"form-view:{submission.view.id}"


# -- responders ------------------------------------------------------------------------------


class FormOpener(SlackResponder):
    """A slash command's responder that can open the command's form in its trigger."""

    def __init__(self, forms: SlackForms, place: Place, member: Member, response_url: str | None,
                 gate: AckGate | None, trigger_id: str) -> None:  # fmt: skip
        super().__init__(forms, place, member, response_url, gate)
        self.forms = forms
        self.trigger_id: str | None = trigger_id

    async def open_form(self, name: str, form: Form, values: FormValues) -> bool:
        trigger, self.trigger_id = self.trigger_id, None  # a trigger opens one view
        if trigger is None:
            return False
        state = initial_state(form, self.place.channel_id, self.response_url.url, values)
        try:
            await self.forms._api("views.open", trigger_id=trigger, view=modal(name, form, state, values))
        except SlackApiError as exc:  # expired_trigger_id (the 3 s passed), a refused view...
            log.warning("views.open failed form=%s error=%s", name, exc.response.get("error"))
            return False
        return True


class FormOutcome:
    """What a submission's ack says: the field errors, while it is not yet sent; `failed`
    once the core reported problems (the form was not saved, in the ack or later)."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}
        self.acked = False
        self.failed = False

    def ack_args(self) -> dict[str, Any]:
        self.acked = True
        return {"response_action": "errors", "errors": self.errors} if self.errors else {}


class FormResponder(SlackResponder):
    """Answers a form's submission in the channel it came from: field errors in the ack
    while it is not sent (else as an ephemeral message), cards as for a slash command,
    ephemeral ones with chat.postEphemeral (the response_url where the bot may not post)."""

    def __init__(self, platform: SlackSending, place: Place, member: Member, state: FormState,
                 gate: AckGate, form: Form, outcome: FormOutcome) -> None:  # fmt: skip
        super().__init__(platform, place, member, state.response_url, gate)
        self.form = form
        self.outcome = outcome

    async def form_errors(self, errors: dict[str, str]) -> None:
        errors = {name: self.platform.spell(sentence) for name, sentence in errors.items()}
        self.outcome.failed = True
        if not self.outcome.acked:
            self.outcome.errors = error_blocks(self.form, errors)
            return
        await self.respond(notice("Your form was not saved: " + " ".join(errors.values())))

    async def _deliver(self, card: Card) -> MessageRef | None:
        if not card.ephemeral:
            return await super()._deliver(card)
        try:
            return await self.platform.deliver(self.place, card, user=self.member.id)
        except SlackApiError as exc:
            if exc.response.get("error") not in UNREACHABLE or self.response_url.url is None:
                raise
            return await super()._deliver(card)


# -- the adapter's part ----------------------------------------------------------------------


class SlackForms(SlackTranslation):
    """Opening forms, their "Add" buttons and their submissions; a mixin of SlackPlatform,
    which provides the intake and the edge log (and, through `SlackInbound`, `_first_time`,
    `_model` and `_durably`)."""

    intake: Intake
    edge: EdgeLog
    _views_in_flight: set[str]
    """Form views being handled now (`form-view:<view id>`): a second submission of one
    waits for nothing and is dropped, as one already done is (recorded after its command,
    so a crash before that leaves the view free to be sent again)."""

    if TYPE_CHECKING:

        async def _first_time(self, payload: Model, request: AsyncBoltRequest) -> bool: ...

        @staticmethod
        def _model(request: AsyncBoltRequest) -> Any: ...

        async def _durably(self, work: Awaitable[None]) -> None: ...

    def _command_responder(self, command: SlashCommand, place: Place, member: Member,
                           gate: AckGate | None) -> SlackResponder:  # fmt: skip
        if not command.trigger_id:
            return super()._command_responder(command, place, member, gate)
        return FormOpener(self, place, member, command.response_url, gate, command.trigger_id)

    def _form(self, callback_id: str) -> tuple[str, Form] | None:
        name = callback_id.removeprefix(FORM_PREFIX)
        form = self.bot.registry.form(name)
        return (name, form) if form is not None else None

    async def _on_view(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any],
                       request: AsyncBoltRequest) -> BoltResponse | None:  # fmt: skip
        """A form's submission: handled, then acknowledged (with its field errors)."""
        try:
            submission = self._model(request) or validate_submission(body)
            found = self._form(submission.view.callback_id)
            state = FormState.load(submission.view.private_metadata)
            if found is None or state is None:
                raise Refused(200, "view not handled")
        except Refused as refused:
            self.edge.refuse(refused.status, refused.reason)
            await ack()
            return None
        name, form = found
        if not self.intake.admit():  # the modal stays open, with what was typed
            errors = {"response_action": "errors", "errors": {first_block(form): self.intake.refusal()}}
            return BoltResponse(status=200, body=errors)
        if not await self._first_time(submission, request):
            await ack()
            return None
        view_id = submitted(submission)
        try:  # a view is submitted once: one at a time here, and recorded once its command is done
            again = view_id in self._views_in_flight or await self.bot.seen_before(PLATFORM, view_id)
        except BaseException:
            self.intake.release()
            raise
        if again:
            self.intake.release()
            log.info("form view submitted again; acknowledged and not handled view=%s", submission.view.id)
            await ack()
            return None
        self._views_in_flight.add(view_id)
        gate, outcome = AckGate(), FormOutcome()

        async def acknowledge() -> None:
            await ack(**outcome.ack_args())

        work = self._durably(self._submit(submission, name, form, state, gate, outcome))
        await self.intake.run(acknowledge, work, gate, "form submission")
        return None

    async def _submit(self, submission: FormSubmission, name: str, form: Form, state: FormState,
                      gate: AckGate, outcome: FormOutcome) -> None:  # fmt: skip
        user = submission.user
        community = self._community(submission.team.id if submission.team else user.team_id)
        place = await self._place(community, state.channel)
        member = await self._member(community, user.id, user.username or user.name)
        responder = FormResponder(self, place, member, state, gate, form, outcome)
        values = form_values(form, submission.view.state.values)
        view_id = submitted(submission)
        try:
            done = await self.bot.dispatch(CommandInvoked(member, place, name=name, options=values, form=True),
                                           responder)  # fmt: skip
            if done and not outcome.failed:  # the same view sent again is not handled again; with
                await self.bot.first_time(PLATFORM, view_id)  # problems, it may come back fixed
        finally:
            self._views_in_flight.discard(view_id)

    async def _on_form_click(self, ack: Callable[[], Awaitable[None]], actions: BlockActions) -> BoltResponse | None:
        """A click in a form's modal: "Add" grows a `lines` field (`views.update` with the
        view's hash); nothing reaches the core and nothing is stored."""
        if not self.intake.admit():  # nothing was done; the member clicks again
            await ack()
            return None
        await self.intake.run(ack, self._add_input(actions), AckGate(), "form button")
        return None

    async def _add_input(self, actions: BlockActions) -> None:
        view = actions.view
        assert view is not None
        found = self._form(view.callback_id)
        state = FormState.load(view.private_metadata)
        if found is None or state is None:
            return
        name, form = found
        for action in actions.actions:
            grown = add_item(form, state, action.action_id.removeprefix(ADD_PREFIX))
            if not action.action_id.startswith(ADD_PREFIX) or grown is None:
                continue
            try:
                await self._api("views.update", view_id=view.id, hash=view.hash, view=modal(name, form, grown))
            except SlackApiError as exc:
                if exc.response.get("error") != "hash_conflict":
                    raise
                log.info("form view changed meanwhile; that click added nothing view=%s", view.id)
            return
