"""What someone is told when an action is not theirs to take: the action, and who may take it."""

from __future__ import annotations

from blocks.text import user, usergroup


def agents_only(group_id: str, action: str) -> str:
    """Tells someone outside the support agents group that only its members can take this action."""
    return f"Only members of {usergroup(group_id)} can {action}."


def commanders_only(commander: str | None, group_id: str) -> str:
    """Tells someone that only the commander and incident commanders may post status updates, and why."""
    who = f"{user(commander)} (the commander)" if commander else "the commander"
    return (f"Only {who} and members of {usergroup(group_id)} can post status updates: customers read them. "
            "Ask in this channel instead.")
