"""What someone is told when an action is not theirs to take: the action, and who may take it."""

from __future__ import annotations

import enum

from blocks.text import user, usergroup


def agents_only(group_id: str, action: str) -> str:
    """Tells someone outside the support agents group that only its members can take this action."""
    return f"Only members of {usergroup(group_id)} can {action}."


class CommanderAction(enum.StrEnum):
    """What only the commander and the incident commanders may do, in the words a refusal names."""

    POST_STATUS = "post status updates"
    TAKE_COMMAND = "take command of this incident"
    GIVE_UP = "give up on an incident step"


_WHY = {CommanderAction.POST_STATUS: ": customers read them"}


def commanders_only(commander: str | None, group_id: str, action: CommanderAction) -> str:
    """Tells someone that only the commander and incident commanders may take this action, and why."""
    who = f"{user(commander)} (the commander)" if commander else "the commander"
    return (f"Only {who} and members of {usergroup(group_id)} can {action}{_WHY.get(action, '')}. "
            "Ask in this channel instead.")


def incident_channel_only(command: str) -> str:
    """Tells someone who typed an incident command elsewhere where it works."""
    return f"`{command}` works in an incident channel (#incident-…). Use it there to update the status page."


# A field error for lone surrogates and NUL: no Slack client sends them, so they come from a broken paste or a forgery.
BROKEN_CHARACTERS = "This has characters that are not text (a broken emoji?): type it again"


def too_long(limit: int, length: int) -> str:
    """A field error for text past the input's max_length, which Slack's clients never send."""
    return f"Keep this to {limit} characters (it has {length})"
