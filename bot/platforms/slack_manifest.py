"""What the Slack app needs, declared once: the Events API subscriptions the adapter
listens to and the Web API methods it calls, each with its bot scopes. `bot.platforms.slack`
registers its listeners from `EVENTS` and refuses to call a method missing from
`API_SCOPES`, so the manifest printed by `alcts-bot slack-manifest` cannot drift from the
code. No slack library is imported here: printing the manifest stays light.
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.config import Settings

EVENTS_PATH = "/slack/events"
"""Where Slack POSTs commands, interactivity and events in HTTP mode."""

COMMAND_SCOPES = ("commands",)

EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    # subscription: (event type the listener receives, bot scopes Slack requires for it)
    "message.channels": ("message", ("channels:history",)),
    "message.groups": ("message", ("groups:history",)),
    "team_join": ("team_join", ("users:read",)),
    "member_joined_channel": ("member_joined_channel", ("channels:read", "groups:read")),
    "member_left_channel": ("member_left_channel", ("channels:read", "groups:read")),
    "app_home_opened": ("app_home_opened", ()),  # the Home tab: no scope beyond the bot token
}

API_SCOPES: dict[str, tuple[str, ...]] = {
    # Web API method: the bot scopes it needs (auth.test needs none and is not listed)
    "chat.postMessage": ("chat:write", "chat:write.public"),  # .public: channels the bot is not in
    "chat.postEphemeral": ("chat:write",),
    "chat.update": ("chat:write",),
    "users.info": ("users:read",),
    "users.list": ("users:read",),
    "usergroups.users.list": ("usergroups:read",),
    "usergroups.list": ("usergroups:read",),  # a role setting names a user group: does it exist?
    "conversations.info": ("channels:read", "groups:read"),
    "conversations.list": ("channels:read", "groups:read"),
    "conversations.members": ("channels:read", "groups:read"),  # a private channel a setting names: is the member in it?
    "conversations.history": ("channels:history", "groups:history"),  # a keyed post already made, after a crash
    "conversations.join": ("channels:join",),
    "conversations.invite": ("channels:manage", "groups:write"),
    "conversations.open": ("im:write",),
    "views.publish": (),  # the member's Home tab; needs only the bot token  # a private file export goes to the member's DM
    "views.open": (),  # a command's form (a modal), in the slash command's trigger; no scope
    "views.update": (),  # the form's "Add option" button; no scope
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}


SCOPE_REASONS: dict[str, str] = {
    # every bot scope and why the bot needs it (docs/slack.md shows this table)
    "commands": "the slash command",
    "chat:write": "posting trivia, polls, job posts and webinars, answers only the member sees, live edits",
    "chat:write.public": "posting in a public channel the bot was not invited to (a poll or the daily question there)",
    "channels:history": "typed trivia answers in public channels the bot was invited to; after a crash, whether a"
    " post was already made (so it is not made twice)",
    "groups:history": "the same in private channels the bot was invited to",
    "channels:read": "channel names and membership events in public channels (a channel setting, members joining); "
                     "whether the bot can post in a channel chosen for webinars, job feeds or the daily question",
    "groups:read": "the same for private channels the bot is in",
    "channels:join": "joining the public announcements channel, when not in it, to invite a follower there",
    "channels:manage": "inviting a member who follows to the public announcements channel",
    "groups:write": "inviting a member who follows to a private announcements channel",
    "users:read": "roles (owner or admin, full member or guest), new members (team_join), the member count",
    "usergroups:read": "moderator and organizer roles given as Slack user groups",
    "im:write": "sending a member a private export or a reminder in a direct message",
    "files:write": "charts and CSV exports",
}


def event_types() -> list[str]:
    """The event types to listen for, each once (two subscriptions deliver `message`)."""
    return sorted({event_type for event_type, _ in EVENTS.values()})


def bot_scopes() -> list[str]:
    scopes = set(COMMAND_SCOPES)
    for _, needed in EVENTS.values():
        scopes.update(needed)
    for needed in API_SCOPES.values():
        scopes.update(needed)
    return sorted(scopes)


def manifest(settings: Settings, request_url: str = f"https://bot.example.org{EVENTS_PATH}") -> dict[str, Any]:
    """The app manifest; Socket Mode (no public URL) when SLACK_APP_TOKEN is set."""
    socket_mode = settings.slack_app_token is not None
    brand = settings.bot_brand
    command: dict[str, Any] = {
        "command": settings.slack_command,
        "description": f"{brand} community bot: trivia, polls, jobs, webinars",
        "usage_hint": "help | follow | poll create QUESTION OPTION OPTION...",
        "should_escape": True,
    }
    events: dict[str, Any] = {"bot_events": sorted(EVENTS)}
    interactivity: dict[str, Any] = {"is_enabled": True}
    if not socket_mode:
        command["url"] = request_url
        events["request_url"] = request_url
        interactivity["request_url"] = request_url
    return {
        "display_information": {
            "name": f"{brand} bot",
            "description": f"Trivia, polls, job posts and webinars from {brand}, where members already talk.",
        },
        "features": {
            "app_home": {"home_tab_enabled": True, "messages_tab_enabled": True, "messages_tab_read_only_enabled": True},
            "bot_user": {"display_name": f"{brand} bot", "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": bot_scopes()}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def request_url(given: str) -> str:
    """The public events URL from `--url`: https, a host, and the path /slack/events
    (added when the URL has no path). Raises ValueError with one sentence."""
    from urllib.parse import urlsplit

    parts = urlsplit(given.strip())
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"--url must be the bot's public https address, e.g. https://bot.example.org{EVENTS_PATH}")
    if parts.path in ("", "/"):
        return f"https://{parts.netloc}{EVENTS_PATH}"
    if parts.path.rstrip("/") != EVENTS_PATH or parts.query or parts.fragment:
        raise ValueError(f"--url must end in {EVENTS_PATH}, where the bot listens")
    return f"https://{parts.netloc}{EVENTS_PATH}"


def manifest_yaml(settings: Settings, url: str | None = None) -> str:
    """The manifest as YAML, with a header naming the mode and why each scope is asked for."""
    if settings.slack_app_token:
        mode = "Socket Mode (SLACK_APP_TOKEN is set)"
    elif url:
        mode = f"HTTP at {url}"
    else:
        mode = f"HTTP: replace https://bot.example.org with this bot's public address, or use --url ({EVENTS_PATH})"
    lines = [f"# Slack app manifest for alcts-bot, generated from the code. Mode: {mode}.", "# Scopes:"]
    lines += [f"#   {scope}: {SCOPE_REASONS[scope]}" for scope in bot_scopes()]
    body = manifest(settings, url) if url else manifest(settings)
    return "\n".join(lines) + "\n" + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
