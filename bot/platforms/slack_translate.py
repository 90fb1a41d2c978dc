"""Slack payloads to neutral interactions: slash commands, button clicks (in messages and
on the Home tab) and events become `Bot.dispatch` calls, answered through
`SlackResponder`; a mixin of `SlackPlatform`."""

from __future__ import annotations

import logging

from bot.cards import Card, notice
from bot.model import (
    ButtonPressed,
    CommandInvoked,
    Community,
    Member,
    MemberJoined,
    MemberLeft,
    MessagePosted,
    MessageRef,
    Place,
)
from bot.platforms.base import STALE_BUTTON, Responder, SilentResponder, custom_id_fits
from bot.platforms.slack_blocks import from_slack, is_link_click
from bot.platforms.slack_directory import SlackDirectory
from bot.platforms.slack_home import HomeRefresher, HomeResponder, home_view
from bot.platforms.slack_intake import AckGate
from bot.platforms.slack_payloads import (
    Action,
    AppHomeOpened,
    BlockActions,
    ChannelMembership,
    EventEnvelope,
    MessageEvent,
    Model,
    SlashCommand,
    TeamJoin,
)
from bot.platforms.slack_send import PLATFORM, ResponseUrl, SlackSending

log = logging.getLogger("bot.platforms.slack")

CHANNEL_TYPES = {"channel", "group"}  # message.channels and message.groups


class SlackResponder:
    """Answers one interaction; every card may be ephemeral or not, first or later.
    Ephemeral answers wait for the interaction's ack (its `AckGate`); the others, whose
    message a handler may keep to edit later, go at once."""

    def __init__(self, platform: SlackSending, place: Place, member: Member, response_url: str | None,
                 gate: AckGate | None = None) -> None:  # fmt: skip
        self.platform = platform
        self.place = place
        self.member = member
        self.response_url = ResponseUrl(response_url)
        self.gate = gate

    async def respond(self, card: Card) -> MessageRef | None:
        if self.gate is None:
            return await self._deliver(card)
        return await self.gate.send(lambda: self._deliver(card), needs_ref=not card.ephemeral)

    async def _deliver(self, card: Card) -> MessageRef | None:
        return await self.platform.deliver(self.place, card, user=self.member.id, response_url=self.response_url)


class SlackTranslation(SlackDirectory):
    """Slack's payloads, validated by the edge, as neutral interactions through the core."""

    bot_user_id: str
    homes: HomeRefresher  # recent viewers of the Home tab, refreshed when content changes

    async def _command(self, command: SlashCommand, gate: AckGate | None = None) -> None:
        community = self._community(command.team_id)
        place = await self._place(community, command.channel_id, command.channel_name)
        member = await self._member(community, command.user_id, command.user_name)
        text = from_slack(command.text).strip() or "help"
        responder = self._command_responder(command, place, member, gate)
        await self.bot.dispatch(CommandInvoked(member, place, text=text), responder)

    def _command_responder(self, command: SlashCommand, place: Place, member: Member,
                           gate: AckGate | None) -> SlackResponder:  # fmt: skip
        """A slash command's responder (`SlackForms` gives one that can open a form)."""
        return SlackResponder(self, place, member, command.response_url, gate)

    async def _actions(self, actions: BlockActions, gate: AckGate | None = None) -> None:
        container = actions.container
        community = self._community(actions.team.id if actions.team else None)
        place = await self._place(community, actions.channel_id, actions.channel.name if actions.channel else "")
        user = actions.user
        member = await self._member(community, user.id, user.username or user.name)
        if actions.on_home:
            await self._home_actions(actions, member, Place(community, "", ""))
            return
        ref = None
        if container.message_ts and not container.is_ephemeral:
            ref = MessageRef(PLATFORM, place.channel_id, container.message_ts)
        responder = SlackResponder(self, place, member, actions.response_url, gate)
        if ref is not None and actions.response_url:
            self._remember_click(ref, responder.response_url)
        await self._press(actions, member, place, responder, ref)

    async def _home_actions(self, actions: BlockActions, member: Member, place: Place) -> None:
        """Clicks on the Home tab: through the core like any click; their answers become
        notes at the top of the tab, published again to show what changed (in the
        background: the click is acknowledged once its effect is stored, not once the tab
        is rebuilt and sent)."""
        self.homes.opened(place.community, member)
        responder = HomeResponder()
        await self._press(actions, member, place, responder)
        self.bot.spawn(self.publish_home(member, place, responder.notes), "home tab publish")

    async def _press(self, actions: BlockActions, member: Member, place: Place, responder: Responder,
                     ref: MessageRef | None = None) -> None:  # fmt: skip
        """Each button of a click payload through the core (links only opened a page)."""
        for action in actions.actions:
            if is_link(action):
                continue
            custom_id = action.value or action.action_id
            if not custom_id_fits(custom_id):  # a number beyond what storage takes: no button of ours
                await responder.respond(notice(STALE_BUTTON))
                continue
            await self.bot.dispatch(ButtonPressed(member, place, custom_id=custom_id, message=ref), responder)

    async def publish_home(self, member: Member, place: Place, notes: list[str] | None = None) -> None:
        """The member's Home tab: the cogs' home cards (`Bot.home`), with `views.publish`."""
        self.homes.rendering(place.community, member)
        view = home_view(await self.bot.home(member, place), self.spell, notes)
        await self._api("views.publish", user_id=member.id, view=view)

    async def refresh_home(self, community: Community, user_id: str) -> None:
        """Publish a recent viewer's tab again after a content change (`HomeRefresher`),
        as the member is now (their role may have changed)."""
        member = await self._member(community, user_id)
        await self.publish_home(member, Place(community, "", ""))

    async def _event(self, envelope: EventEnvelope, event: Model, gate: AckGate | None = None) -> None:
        if not await self.bot.first_time(PLATFORM, envelope.event_id):
            log.info("duplicate slack event skipped event_id=%s type=%s", envelope.event_id, envelope.event.type)
            return
        community = self._community(envelope.team_id)
        if isinstance(event, MessageEvent):
            await self._message_posted(community, event, gate)
        elif isinstance(event, TeamJoin) and not event.user.is_bot:
            member = await self._member(community, event.user.id, event.user.name)
            await self.bot.dispatch(MemberJoined(member, Place(community, "", "")), SilentResponder())
            self._want_snapshot()
        elif isinstance(event, AppHomeOpened) and event.tab in ("home", ""):
            member = await self._member(community, event.user)
            self.homes.opened(community, member)
            await self.publish_home(member, Place(community, "", ""))
        elif isinstance(event, ChannelMembership) and event.user != self.bot_user_id:
            place = await self._place(community, event.channel)
            member = await self._member(community, event.user)
            joined = MemberJoined if event.type == "member_joined_channel" else MemberLeft
            await self.bot.dispatch(joined(member, place, channel_only=True), SilentResponder())

    async def _message_posted(self, community: Community, event: MessageEvent, gate: AckGate | None) -> None:
        """A member's new message in a channel: not edits, joins or other bots' posts."""
        if event.subtype or event.bot_id or not event.user or event.channel_type not in CHANNEL_TYPES:
            return
        place = await self._place(community, event.channel)
        member = await self._member(community, event.user)
        responder = SlackResponder(self, place, member, None, gate)
        await self.bot.dispatch(MessagePosted(member, place, text=from_slack(event.text)), responder)

    def _community(self, team_id: str | None) -> Community:
        if not team_id or team_id == self.community.id:
            return self.community
        return Community(PLATFORM, team_id, "")


def is_link(action: Action) -> bool:
    return is_link_click({"action_id": action.action_id, "value": action.value})
