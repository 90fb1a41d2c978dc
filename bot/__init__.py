"""ALCTS community bot: one core, many platforms (console, Discord, Slack)."""

__version__ = "0.1.0"
