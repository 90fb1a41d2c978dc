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
        """Channel names come with commands and clicks; events carry only the id."""
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
