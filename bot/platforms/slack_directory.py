"""Who and where on Slack: members with their roles (owners, admins, user groups,
SLACK_ORGANIZERS/SLACK_MODERATORS), channel names and lookups, follower invitations, and
the workspace's member count snapshots; a mixin of `SlackPlatform`."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.app import Bot
from bot.config import CommunitySettings, Settings
from bot.model import Community, Member, Place, Role
from bot.platforms.base import ChannelLookup, RoleLookup
from bot.platforms.slack_send import PLATFORM, SlackSending

log = logging.getLogger("bot.platforms.slack")

SEEN_FOR = timedelta(days=1)  # Slack stops retrying an event within the hour
HOUSEKEEPING_EVERY = 6 * 3600.0  # member-count snapshot and seen-event pruning
CHANNEL_REF = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>|^([CG][A-Z0-9]{6,})$")
GROUP_ID = re.compile(r"\b(S[A-Z0-9]{6,})\b")


class SlackDirectory(SlackSending):
    """Members, roles, channels and member counts; `SlackPlatform` sets the attributes."""

    bot: Bot
    settings: Settings
    community: Community
    channel_names: dict[str, str]
    bot_name: str  # the bot's user name, as members /invite it
    users: Callable[[str], Awaitable[dict[str, Any]]]  # async-lru over users.info
    groups: Callable[[str], Awaitable[frozenset[str]]]  # async-lru over usergroups.users.list
    _snapshot_due: bool
    _snapshotting: bool

    async def _member(self, community: Community, user_id: str, fallback_name: str = "") -> Member:
        try:
            user = await self.users(user_id)
        except SlackApiError as exc:
            log.warning("users.info failed user=%s error=%s", user_id, exc.response.get("error"))
            user = {}
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("name") or fallback_name or user_id
        config = await self.bot.config.get(community)
        return Member(PLATFORM, user_id, name, await self._role(user_id, user, config))

    async def _role(self, user_id: str, user: dict[str, Any], config: CommunitySettings) -> Role:
        """Organizer: SLACK_ORGANIZERS, workspace owners, the organizer_role user group.
        Moderator: SLACK_MODERATORS, workspace admins, the moderator_role user group."""
        settings = self.settings
        # workspace flags count only for our own full members, not Slack Connect strangers or guests
        home = (user.get("team_id") in (None, self.community.id) and not user.get("is_stranger")
                and not user.get("is_restricted") and not user.get("is_ultra_restricted"))  # fmt: skip
        if (user_id in settings.slack_organizers or (home and (user.get("is_owner") or user.get("is_primary_owner")))
                or await self._in_group(config.organizer_role, user_id)):  # fmt: skip
            return Role.ORGANIZER
        if (user_id in settings.slack_moderators or (home and user.get("is_admin"))
                or await self._in_group(config.moderator_role, user_id)):  # fmt: skip
            return Role.MODERATOR
        return Role.MEMBER

    async def _in_group(self, setting: str | None, user_id: str) -> bool:
        match = GROUP_ID.search(setting or "")
        if match is None:
            return False
        try:
            return user_id in await self.groups(match.group(1))
        except SlackApiError as exc:
            log.warning("usergroups.users.list failed group=%s error=%s", match.group(1), exc.response.get("error"))
            return False

    async def _user_info(self, user_id: str) -> dict[str, Any]:
        return dict((await self._api("users.info", user=user_id))["user"])

    async def _group_members(self, group_id: str) -> frozenset[str]:
        return frozenset((await self._api("usergroups.users.list", usergroup=group_id))["users"])

    async def _place(self, community: Community, channel_id: str, name: str | None = None) -> Place:
        """Channel names come with commands and clicks; events carry only the id. No channel
        (a click on the Home tab) has no name to ask Slack for."""
        if not channel_id:
            return Place(community, channel_id, name or "")
        if name:
            self.channel_names[channel_id] = name
        elif channel_id not in self.channel_names:
            try:
                info = await self._api("conversations.info", channel=channel_id)
                self.channel_names[channel_id] = info["channel"].get("name") or ""
            except SlackApiError as exc:
                log.warning("conversations.info failed channel=%s error=%s", channel_id, exc.response.get("error"))
                return Place(community, channel_id, "")
        return Place(community, channel_id, self.channel_names[channel_id])

    async def can_post(self, place: Place) -> str | None:
        """Whether the bot can post in the channel later, outside any interaction (a
        webinar's reminders, a job feed, the daily question): a channel it is in, or a public
        one (`chat:write.public`); never a private channel, direct message or group message
        it is not in (Slack answers those `channel_not_found`), nor an archived channel.
        None when it can, else one sentence for the member. Slack is asked each time
        (`conversations.info`), so an invitation counts at once; when Slack cannot answer
        (rate limits, a missing scope), the channel is not held against the member."""
        try:
            info = (await self._api("conversations.info", channel=place.channel_id))["channel"]
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in ("channel_not_found", "not_in_channel"):
                return self._invite_me("that is a private channel or a conversation I am not in")
            log.warning("conversations.info failed channel=%s error=%s; posting there not checked",
                        place.channel_id, error)  # fmt: skip
            return None
        if info.get("name"):
            self.channel_names[place.channel_id] = str(info["name"])
        if info.get("is_archived"):
            return "That channel is archived, so I cannot post in it; pick another channel."
        if info.get("is_im") or info.get("is_mpim"):
            return "That is a direct conversation, not a channel; pick a channel."
        if info.get("is_private") and not info.get("is_member"):
            return self._invite_me("that is a private channel I am not in")
        return None

    def _invite_me(self, why: str) -> str:
        bot = f"@{self.bot_name}" if self.bot_name else "the bot"
        return f"I cannot post in that channel: {why}. Invite me there first (/invite {bot}), or pick another channel."

    async def find_channel(self, text: str) -> str | None:
        """A channel id from `<#C0123|name>`, `C0123` or `#name`."""
        match = CHANNEL_REF.search(text.strip())
        if match:
            return match.group(1) or match.group(2)
        wanted = text.strip().lstrip("#").lower()
        cursor = None
        while True:
            page = await self._api("conversations.list", types="public_channel,private_channel",
                                   exclude_archived=True, limit=200, cursor=cursor)  # fmt: skip
            for channel in page["channels"]:
                self.channel_names[channel["id"]] = channel.get("name", "")
                if channel.get("name", "").lower() == wanted:
                    return str(channel["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None

    async def setting_channel(self, member: Member, community: Community, text: str) -> ChannelLookup | None:
        """A channel a setting names (`<#C0123|name>`, `C0123`, `#name` or `name`) among those
        the bot can see (public channels, private ones it is in), as Slack's mention; a private
        one is visible to the member only if they are in it. None when Slack cannot be asked."""
        try:
            channel_id = await self.find_channel(text)
            if channel_id is None:
                return ChannelLookup(False)
            info = (await self._api("conversations.info", channel=channel_id))["channel"]
            name = str(info.get("name") or "")
            visible = not info.get("is_private") or member.id in await self._channel_members(channel_id)
        except SlackApiError as exc:
            if exc.response.get("error") == "channel_not_found":
                return ChannelLookup(False)
            log.warning("channel lookup failed text=%r error=%s", text[:80], exc.response.get("error"))
            return None
        self.channel_names[channel_id] = name
        return ChannelLookup(True, f"<#{channel_id}|{name}>", name, visible)

    async def _channel_members(self, channel_id: str) -> set[str]:
        members: set[str] = set()
        cursor = None
        while True:
            page = await self._api("conversations.members", channel=channel_id, limit=200, cursor=cursor)
            members.update(page["members"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members

    async def setting_role(self, community: Community, text: str) -> RoleLookup | None:
        """A user group a role setting names, by id (`S0123`, what a mention of it becomes),
        handle (`@mods`) or name, in any case; stored as its id, which roles are read by.
        None when Slack cannot be asked (no usergroups:read, a plan without user groups)."""
        wanted = text.strip().lstrip("@").casefold()
        try:
            groups = (await self._api("usergroups.list"))["usergroups"]
        except SlackApiError as exc:
            log.warning("usergroups.list failed error=%s", exc.response.get("error"))
            return None
        for group in groups:
            names = {str(group.get(k) or "").casefold() for k in ("id", "handle", "name")} - {""}
            if wanted in names:
                label = str(group.get("handle") or group.get("name") or group["id"])
                return RoleLookup(True, str(group["id"]), str(group["id"]), label, kind="user group")
        return RoleLookup(False, kind="user group")

    async def _invite(self, channel: str, user_id: str) -> None:
        try:
            await self._api("conversations.invite", channel=channel, users=user_id)
        except SlackApiError as exc:
            if exc.response.get("error") != "not_in_channel":
                raise
            await self._api("conversations.join", channel=channel)  # public channels only
            await self._api("conversations.invite", channel=channel, users=user_id)

    # -- growth snapshots and housekeeping ---------------------------------------------------

    async def _housekeep(self) -> None:
        while True:
            self._want_snapshot()
            try:
                await self.bot.forget_seen(PLATFORM, SEEN_FOR)
            except Exception:
                log.exception("pruning seen events failed")
            await asyncio.sleep(HOUSEKEEPING_EVERY)

    def _want_snapshot(self) -> None:
        """Count members soon; joins during a count ask for one more count, not one each."""
        self._snapshot_due = True
        if not self._snapshotting:
            self._snapshotting = True
            self.bot.spawn(self._snapshots())

    async def _snapshots(self) -> None:
        try:
            while self._snapshot_due:
                self._snapshot_due = False
                try:
                    members = await self._count_members()
                    await self.bot.engagement.record_member_count(self.community, members, self.bot.clock.now())
                except Exception:
                    log.exception("member count snapshot failed")
        finally:
            self._snapshotting = False

    async def _count_members(self) -> int:
        """People in the workspace: not bots, not deactivated accounts."""
        count, cursor = 0, None
        while True:
            page = await self._api("users.list", limit=200, cursor=cursor)
            count += sum(
                1 for user in page["members"]
                if not (user.get("deleted") or user.get("is_bot") or user.get("id") == "USLACKBOT")
            )  # fmt: skip
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return count
