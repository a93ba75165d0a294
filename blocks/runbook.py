"""The runbook in Slack: `/runbook` results with their steps, "nothing found", and the one-line hints the ticket
card shows so Tier 1 looks there first.

Runbook pages are Markdown written by people: shown escaped with Slack's three entities, with `**bold**`,
headings, bullets and http(s) links turned into Slack's own mrkdwn, never passed through as markup. A
workaround is shown only when the entry documents one; the bot never suggests one of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from blocks.text import SECTION_TEXT, Block, context, divider, escape, header, link, section, truncate
from bot.domain import RunbookMatch

_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_MARKER = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _inline(text: str) -> str:
    """One piece of Markdown without links as Slack mrkdwn: escaped, `**bold**` and `__bold__` as `*bold*`."""
    return re.sub(r"(\*\*|__)(.+?)\1", r"*\2*", escape(text))


def _line(line: str) -> str:
    """One Markdown line as mrkdwn: a heading in bold, a bullet as •, links as Slack links when http(s)."""
    if found := re.match(r"^\s*#{1,6}\s+(.*?)\s*#*\s*$", line):
        return f"*{escape(found.group(1).strip(' *_'))}*"
    line = re.sub(r"^(\s*)[-*+]\s+", r"\1• ", line)
    out, at = [], 0
    for match in _LINK.finditer(line):
        out.append(_inline(line[at:match.start()]))
        label, url = match.group(1), match.group(2)
        out.append(link(url, label) or f"{escape(label)} ({escape(url)})")
        at = match.end()
    out.append(_inline(line[at:]))
    return "".join(out)


def markdown_to_mrkdwn(markdown: str) -> str:
    """A runbook page's Markdown as Slack mrkdwn; code blocks stay code blocks, their text escaped."""
    lines: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            lines.append("```")
        else:
            lines.append(escape(line) if fenced else _line(line))
    return "\n".join(lines)


def first_line(markdown: str) -> str:
    """The first non-empty line of a page's text, as plain words (no list marker, no emphasis)."""
    for line in markdown.split("\n"):
        if line.strip() and not line.lstrip().startswith(("#", "```", "~~~")):
            plain = _LINK.sub(r"\1", _MARKER.sub("", line))
            return re.sub(r"(\*\*|__|`)", "", plain).strip()
    return ""


def card_match(match: RunbookMatch) -> tuple[str, str]:
    """(title, one-line hint) for the ticket card: the documented workaround when there is one, else where the
    steps start."""
    entry = match.entry
    if entry.workaround and (line := first_line(entry.workaround)):
        return entry.title, truncate(f"Workaround: {line}", 200)
    return entry.title, truncate(f"First step: {first_line(entry.steps)}", 200)


def card_section(matches: Sequence[tuple[str, str]]) -> Block:
    """The card's runbook lines: look here before escalating."""
    lines = [f"• *{escape(title)}*: {escape(hint)}" for title, hint in matches]
    return section(truncate("📘 *Runbook first* (`/runbook` for the steps)\n" + "\n".join(lines), SECTION_TEXT))


def runbook_usage() -> str:
    """The ephemeral answer to `/runbook` without words."""
    return "Usage: `/runbook <symptom words>`, for example `/runbook SSO login loop after IdP rotation`."


def nothing_found(words: str) -> str:
    """Said when no entry matches: plainly, with what to try next."""
    return (f"No runbook entry matches “{escape(words)}”. Try other symptom words (an error message, the "
            "feature's name), or ask in triage. Runbook pages are added with `supportbot runbook import <folder>`.")


def results_text(words: str, matches: Sequence[RunbookMatch]) -> str:
    """The notification text of a `/runbook` answer."""
    return f"Runbook: {len(matches)} entries for “{words}”" if matches else nothing_found(words)


def runbook_results(words: str, matches: Sequence[RunbookMatch]) -> list[Block]:
    """`/runbook` results, best first: each entry's title, symptoms, steps and (only when documented) its
    workaround."""
    if not matches:
        return [section(nothing_found(words))]
    blocks: list[Block] = [header(f"📘 Runbook: {words}")]
    for match in matches:
        entry = match.entry
        blocks.append(section(truncate(f"*{escape(entry.title)}*", SECTION_TEXT)))
        if entry.symptoms:
            blocks.append(context(truncate(f"Symptoms: {escape(entry.symptoms)}", 2000)))
        cut = " (cut; the whole page is in the runbook)"
        steps = markdown_to_mrkdwn(entry.steps)
        blocks.append(section(steps if len(steps) <= SECTION_TEXT else truncate(steps, SECTION_TEXT - len(cut)) + cut))
        if entry.workaround:
            blocks.append(section(truncate(f"🩹 *Workaround*\n{markdown_to_mrkdwn(entry.workaround)}",
                                           SECTION_TEXT)))
        if entry.source:
            blocks.append(context(truncate(f"From `{escape(entry.source)}`", 2000)))
        blocks.append(divider())
    return blocks[:-1]
