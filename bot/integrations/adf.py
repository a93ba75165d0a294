"""Builders for Atlassian Document Format (version 1), the rich text Jira Cloud's REST v3 takes for descriptions.

Pure functions returning plain dicts ready for JSON. Text is taken literally: no Slack markup is read or written.
Jira refuses a text node whose text is empty, so empty strings are dropped here rather than sent.
"""

from __future__ import annotations

from typing import Any

ADFNode = dict[str, Any]


def doc(*blocks: ADFNode | None) -> ADFNode:
    """A whole document from block nodes (paragraph, heading, bullet_list, code_block); None entries are skipped."""
    return {"type": "doc", "version": 1, "content": [block for block in blocks if block is not None]}


def text(value: str, *, link: str | None = None, strong: bool = False) -> ADFNode:
    """An inline text node, optionally bold and/or linked; an empty `value` gives {} which the containers drop."""
    if not value:
        return {}
    node: ADFNode = {"type": "text", "text": value}
    marks: list[ADFNode] = []
    if strong:
        marks.append({"type": "strong"})
    if link:
        marks.append({"type": "link", "attrs": {"href": link}})
    if marks:
        node["marks"] = marks
    return node


def paragraph(*inline: ADFNode | str) -> ADFNode:
    """A paragraph of inline nodes; a bare str is taken as plain text, and empty text nodes are left out."""
    return {"type": "paragraph", "content": _inline(inline)}


def heading(level: int, value: str) -> ADFNode:
    """A heading of `level` 1 to 6 holding plain text."""
    if not 1 <= level <= 6:
        raise ValueError(f"ADF heading levels are 1 to 6, got {level}")
    return {"type": "heading", "attrs": {"level": level}, "content": _inline((value,))}


def bullet_list(items: list[list[ADFNode]]) -> ADFNode:
    """A bulleted list; each item is a list of inline nodes, set in a paragraph inside a listItem.

    An item with no text left is dropped: ADF wants at least one listItem, so an empty list raises ValueError.
    """
    entries = [{"type": "listItem", "content": [paragraph(*item)]} for item in items if _inline(item)]
    if not entries:
        raise ValueError("an ADF bulletList needs at least one item with text")
    return {"type": "bulletList", "content": entries}


def code_block(value: str) -> ADFNode:
    """A preformatted block of plain text (no marks are allowed inside one)."""
    return {"type": "codeBlock", "content": _inline((value,))}


def _inline(nodes: tuple[ADFNode | str, ...] | list[ADFNode]) -> list[ADFNode]:
    result: list[ADFNode] = []
    for node in nodes:
        if isinstance(node, str):
            node = text(node)
        # `text("")` is {}, and a text node may be built by hand with "": both are refused by Jira.
        if not node or (node.get("type") == "text" and not node.get("text")):
            continue
        result.append(node)
    return result
