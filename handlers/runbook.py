"""`/runbook <symptom words>`: the best runbook entries with their steps, only to the support agent who asked."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from blocks.ids import Command
from blocks.runbook import results_text, runbook_results, runbook_usage
from bot.runbook.service import RunbookService
from handlers.errors import guarded


def register(app: AsyncApp) -> None:
    """Attaches `/runbook` to the Bolt app."""
    app.command(Command.RUNBOOK.value)(guarded(runbook_command))


async def runbook_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond,
                          runbook: RunbookService) -> None:
    """Refuses anyone outside support_agents, explains itself without words, else searches and answers."""
    words = command.get("text", "").strip()
    if refusal := await runbook.refusal_for(command["user_id"]):
        await ack(refusal)
        return
    if not words:
        await ack(runbook_usage())
        return
    await ack()
    matches = await runbook.search(words)
    await respond(text=results_text(words, matches), blocks=runbook_results(words, matches),
                  response_type="ephemeral")
