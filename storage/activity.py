"""What counts as a member's activity in the growth figures (DAU/WAU/MAU, retention,
first engagement per feature).

Every event is logged raw and counted in the day's totals, but joining or leaving the
community is not activity, nor is a command that was refused (no permission, over its
quota) or mistyped, nor one that only reads or changed nothing, and neither are the
housekeeping commands (settings, the growth figures themselves, privacy requests and help):
an organizer reading `/stats growth` every morning would otherwise count as the most
engaged member.
"""

from __future__ import annotations

REFUSED = "refused"  # a command refused (no permission, over quota) or mistyped
FORM_OPENED = "form_opened"  # a command's form was shown: its submission is the activity
NO_CHANGE = "no_change"  # a read-only command, or one that changed nothing
NOT_ACTIVITY = ("member_joined", "member_left", REFUSED, FORM_OPENED, NO_CHANGE)
"""Event kinds: refused is a command refused or mistyped; form_opened a command's form shown
(its submission is the command, and counts); no_change a read-only command (`/poll results`,
declared `@command(..., activity=False)`) or one that changed nothing (`/unfollow` when not
following)."""
HOUSEKEEPING_COGS = ("config", "stats", "privacy", "help")  # cog names (Cog.name)


def counts_as_activity(kind: str, cog: str | None) -> bool:
    return kind not in NOT_ACTIVITY and cog not in HOUSEKEEPING_COGS
