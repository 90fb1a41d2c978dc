"""Errors whose message is meant for the person who typed the command."""


class UserError(Exception):
    """A one-sentence problem shown to the member; never a traceback."""


class UsageError(UserError):
    """The command was typed wrong: a missing or malformed argument."""
