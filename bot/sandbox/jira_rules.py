"""What Jira Cloud REST v3 accepts when creating an issue, and the little JQL the stand-in understands.

The field rules return ``{field: message}`` for what they refuse, or None; ``create_issue_error`` runs them all
and merges the answers into Jira's 400 body, ``{"errorMessages": [...], "errors": {field: message}}``, as Jira
reports every refused field at once. A new field rule joins ``_FIELD_RULES``.

Messages are the ones Jira Cloud answers with. Descriptions must be Atlassian Document Format (ADF) version 1;
``adf_problem`` says what is wrong with one, which Jira itself does not, to help whoever reads a failing test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_SUMMARY_LEN = 255
MAX_LABEL_LEN = 255
MAX_DESCRIPTION_LEN = 32767
# The fields the stand-in's create screen has; Jira refuses any other as not on the screen.
CREATABLE_FIELDS = ("project", "issuetype", "summary", "description", "labels")

PROJECT_REQUIRED = "Specify a valid project ID or key"
ISSUE_TYPE_REQUIRED = "Specify an issue type"
ISSUE_TYPE_INVALID = "Specify a valid issue type"
SUMMARY_REQUIRED = "You must specify a summary of the issue."
SUMMARY_NEWLINE = "The summary is invalid because it contains newline characters."
SUMMARY_TOO_LONG = "Summary must be less than 255 characters."
NOT_A_STRING = "Operation value must be a string"
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
DESCRIPTION_TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
UNBOUNDED_JQL = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."

FieldErrors = dict[str, str]
Projects = Mapping[str, Sequence[str]]

# -- ADF ------------------------------------------------------------------------------------------------

_INLINE = frozenset({"text", "hardBreak", "mention", "emoji", "inlineCard"})
_LIST_ITEM_CONTENT = frozenset({"paragraph", "bulletList", "orderedList", "codeBlock"})
_BLOCKS = frozenset({"paragraph", "heading", "bulletList", "orderedList", "codeBlock", "blockquote", "rule",
                     "panel"})
# What each node may hold; a node type missing here holds nothing.
_CONTENT: dict[str, frozenset[str]] = {
    "doc": _BLOCKS,
    "paragraph": _INLINE,
    "heading": _INLINE,
    "bulletList": frozenset({"listItem"}),
    "orderedList": frozenset({"listItem"}),
    "listItem": _LIST_ITEM_CONTENT,
    "codeBlock": frozenset({"text"}),
    "blockquote": frozenset({"paragraph", "bulletList", "orderedList", "codeBlock"}),
    "panel": frozenset({"paragraph", "heading", "bulletList", "orderedList"}),
}
_KNOWN_NODES = frozenset(_CONTENT) | _INLINE | {"rule", "listItem"}
# Nodes that must hold at least one child.
_NON_EMPTY = frozenset({"bulletList", "orderedList", "listItem", "blockquote", "panel"})
_REQUIRED_ATTRS = {"mention": "id", "emoji": "shortName", "inlineCard": "url"}
_MARKS = frozenset({"strong", "em", "code", "strike", "underline", "link", "subsup", "textColor",
                    "backgroundColor"})
_NODE_KEYS = frozenset({"type", "content", "text", "marks", "attrs"})
_PANEL_TYPES = frozenset({"info", "note", "warning", "success", "error"})


def adf_problem(value: Any) -> str | None:
    """What makes ``value`` not a valid ADF document (``{"type": "doc", "version": 1, "content": [...]}``)."""
    if not isinstance(value, dict) or value.get("type") != "doc":
        return "not an object with type 'doc'"
    version = value.get("version")
    if type(version) is not int or version != 1:
        return "version must be 1"
    if set(value) - {"type", "version", "content"}:
        return f"unknown doc keys {sorted(set(value) - {'type', 'version', 'content'})}"
    return _content_problem(value, "doc")


def _node_problem(node: Any, where: str) -> str | None:
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return f"{where}: a node must be an object with a string type"
    kind = node["type"]
    where = f"{where}/{kind}"
    if kind not in _KNOWN_NODES or kind == "doc":
        return f"{where}: unknown node type"
    if set(node) - _NODE_KEYS:
        return f"{where}: unknown keys {sorted(set(node) - _NODE_KEYS)}"
    attrs = node.get("attrs", {})
    if not isinstance(attrs, dict):
        return f"{where}: attrs must be an object"
    if kind == "text":
        return _text_problem(node, where)
    if "text" in node or "marks" in node:
        return f"{where}: only text nodes carry text or marks"
    required = _REQUIRED_ATTRS.get(kind)
    if required and not (isinstance(attrs.get(required), str) and attrs[required]):
        return f"{where}: attrs.{required} is required"
    level = attrs.get("level")
    if kind == "heading" and not (type(level) is int and 1 <= level <= 6):
        return f"{where}: attrs.level must be 1 to 6"
    if kind == "panel" and attrs.get("panelType") not in _PANEL_TYPES:
        return f"{where}: attrs.panelType must be one of {sorted(_PANEL_TYPES)}"
    return _content_problem(node, kind, where)


def _content_problem(node: dict[str, Any], kind: str, where: str = "doc") -> str | None:
    allowed = _CONTENT.get(kind)
    if allowed is None:
        return f"{where}: holds no content" if "content" in node else None
    content = node.get("content", [])
    if not isinstance(content, list):
        return f"{where}: content must be a list"
    if kind in _NON_EMPTY and not content:
        return f"{where}: content must not be empty"
    for index, child in enumerate(content):
        problem = _node_problem(child, f"{where}[{index}]")
        if problem:
            return problem
        if child["type"] not in allowed:
            return f"{where}[{index}]: {child['type']} cannot be inside {kind}"
        if kind == "codeBlock" and child.get("marks"):
            return f"{where}[{index}]: text in a codeBlock takes no marks"
    return None


def _text_problem(node: dict[str, Any], where: str) -> str | None:
    value = node.get("text")
    if not isinstance(value, str) or not value:
        return f"{where}: text must be a non-empty string"
    if "content" in node:
        return f"{where}: text nodes hold no content"
    marks = node.get("marks", [])
    if not isinstance(marks, list):
        return f"{where}: marks must be a list"
    seen: set[str] = set()
    for mark in marks:
        if not isinstance(mark, dict) or mark.get("type") not in _MARKS:
            return f"{where}: unknown mark {mark!r}"
        if mark["type"] in seen:
            return f"{where}: mark {mark['type']} given twice"
        seen.add(mark["type"])
        attrs = mark.get("attrs")
        if mark["type"] == "link" and not (isinstance(attrs, dict) and isinstance(attrs.get("href"), str)
                                           and attrs["href"]):
            return f"{where}: a link mark needs attrs.href"
    if "code" in seen and seen - {"code", "link"}:
        return f"{where}: the code mark goes only with link"
    return None


def _adf_text_length(node: Any) -> int:
    if isinstance(node, dict):
        own = len(node["text"]) if isinstance(node.get("text"), str) else 0
        return own + sum(_adf_text_length(child) for child in node.get("content") or [])
    return 0


# -- creating an issue ----------------------------------------------------------------------------------


def create_issue_error(body: Any, projects: Projects) -> dict[str, Any] | None:
    """Jira's 400 body for this parsed ``POST /rest/api/3/issue`` body, or None if Jira would create the issue.

    ``projects`` maps each project key to its issue type names.
    """
    if not isinstance(body, dict):
        return {"errorMessages": ["Can not deserialize instance of the issue request out of a non-object"],
                "errors": {}}
    unknown_top = sorted(set(body) - {"fields"})
    if unknown_top:
        return {"errorMessages": [f'Unrecognized field "{unknown_top[0]}"'], "errors": {}}
    fields = body.get("fields", {})
    if not isinstance(fields, dict):
        return {"errorMessages": ["Can not deserialize instance of fields out of a non-object"], "errors": {}}
    errors: FieldErrors = {}
    for rule in _FIELD_RULES:
        errors.update(rule(fields, projects) or {})
    return {"errorMessages": [], "errors": errors} if errors else None


def unknown_fields_error(fields: dict[str, Any], projects: Projects) -> FieldErrors | None:
    """Fields the create screen does not have."""
    unknown = [name for name in fields if name not in CREATABLE_FIELDS]
    return {name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            for name in unknown} or None


def project_error(fields: dict[str, Any], projects: Projects) -> FieldErrors | None:
    """``project`` must name a project by ``key`` (the stand-in's projects have no numeric IDs)."""
    if project_key(fields, projects) is None:
        return {"project": PROJECT_REQUIRED}
    return None


def issue_type_error(fields: dict[str, Any], projects: Projects) -> FieldErrors | None:
    """``issuetype`` must name, by ``name``, one of the project's issue types; unchecked without a project."""
    issue_type = fields.get("issuetype")
    if not isinstance(issue_type, dict) or not issue_type:
        return {"issuetype": ISSUE_TYPE_REQUIRED}
    project = project_key(fields, projects)
    if project is None:
        return None
    if issue_type.get("name") not in projects[project]:
        return {"issuetype": ISSUE_TYPE_INVALID}
    return None


def summary_error(fields: dict[str, Any], projects: Projects) -> FieldErrors | None:
    """A one-line summary of 1 to 255 characters."""
    summary = fields.get("summary")
    if summary is None or (isinstance(summary, str) and not summary.strip()):
        return {"summary": SUMMARY_REQUIRED}
    if not isinstance(summary, str):
        return {"summary": NOT_A_STRING}
    if "\n" in summary or "\r" in summary:
        return {"summary": SUMMARY_NEWLINE}
    if len(summary) > MAX_SUMMARY_LEN:
        return {"summary": SUMMARY_TOO_LONG}
    return None


def description_error(fields: dict[str, Any], projects: Projects) -> FieldErrors | None:
    """An optional ADF document (REST v3 takes no plain-text description) of at most 32,767 characters."""
    if "description" not in fields or fields["description"] is None:
        return None
    description = fields["description"]
    if adf_problem(description) is not None:
        return {"description": NOT_ADF}
    if _adf_text_length(description) > MAX_DESCRIPTION_LEN:
        return {"description": DESCRIPTION_TOO_LONG}
    return None


def labels_error(fields: dict[str, Any], projects: Projects) -> FieldErrors | None:
    """Labels are a list of non-empty strings without whitespace, each at most 255 characters."""
    labels = fields.get("labels")
    if labels is None:
        return None
    if not isinstance(labels, list):
        return {"labels": "data was not an array"}
    for label in labels:
        if not isinstance(label, str):
            return {"labels": NOT_A_STRING}
        if not label or any(c.isspace() for c in label):
            return {"labels": f"The label '{label}' contains spaces which is invalid."}
        if len(label) > MAX_LABEL_LEN:
            return {"labels": f"The label '{label}' exceeds the {MAX_LABEL_LEN} character limit."}
    return None


def project_key(fields: dict[str, Any], projects: Projects) -> str | None:
    """The key of the known project ``fields["project"]`` names, or None."""
    project = fields.get("project")
    key = project.get("key") if isinstance(project, dict) else None
    return key if isinstance(key, str) and key in projects else None


_FIELD_RULES: tuple[Callable[[dict[str, Any], Projects], FieldErrors | None], ...] = (
    unknown_fields_error,
    project_error,
    issue_type_error,
    summary_error,
    description_error,
    labels_error,
)

# -- JQL ------------------------------------------------------------------------------------------------

# The JQL fields the stand-in can search, by every name Jira accepts for them.
JQL_FIELDS = {"labels": "labels", "project": "project", "key": "key", "issuekey": "key", "id": "key",
              "status": "status", "issuetype": "issuetype", "type": "issuetype"}
_TOKEN_RE = re.compile(r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|=)|(?P<punct>[(),])
                           |(?P<word>[A-Za-z0-9_.\-]+))""", re.VERBOSE)


@dataclass(frozen=True)
class JqlClause:
    """``field = value``, ``field != value`` or ``field in (values)``; ``field`` is the canonical name."""

    field: str
    negated: bool
    values: tuple[str, ...]


def parse_jql(jql: str) -> list[JqlClause]:
    """The ``AND``-joined clauses of ``jql``, any ``ORDER BY`` ignored; raises ValueError with Jira's message."""
    tokens = _tokens(jql)
    order = next((i for i in range(len(tokens) - 1)
                  if tokens[i] == ("word", "ORDER") and tokens[i + 1] == ("word", "BY")), None)
    if order is not None:
        tokens = tokens[:order]
    if not tokens:
        raise ValueError(UNBOUNDED_JQL)
    clauses: list[JqlClause] = []
    position = 0
    while True:
        clause, position = _clause(tokens, position)
        clauses.append(clause)
        if position == len(tokens):
            return clauses
        if tokens[position] != ("word", "AND"):
            raise ValueError(f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got "
                             f"'{tokens[position][1]}'.")
        position += 1


def _tokens(jql: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while jql[position:].strip():
        match = _TOKEN_RE.match(jql, position)
        if match is None or match.end() == position:
            raise ValueError(f"Error in the JQL Query: The character '{jql[position:].strip()[0]}' is a "
                             f"reserved JQL character.")
        kind = match.lastgroup or "word"
        value = match.group(kind)
        if kind == "string":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        elif kind == "word" and value.upper() in ("AND", "OR", "IN", "ORDER", "BY", "NOT"):
            value = value.upper()
        tokens.append((kind, value))
        position = match.end()
    return tokens


def _clause(tokens: list[tuple[str, str]], position: int) -> tuple[JqlClause, int]:
    def at(i: int) -> tuple[str, str]:
        if i >= len(tokens):
            raise ValueError("Error in the JQL Query: Expecting more of the query.")
        return tokens[i]

    kind, name = at(position)
    if name == "OR":
        raise ValueError("Error in the JQL Query: the stand-in understands AND only, not OR.")
    field = JQL_FIELDS.get(name.lower()) if kind in ("word", "string") else None
    if field is None:
        raise ValueError(f"Field '{name}' does not exist or you do not have permission to view it.")
    _, op = at(position + 1)
    if op in ("=", "!="):
        value_kind, value = at(position + 2)
        if value_kind not in ("word", "string"):
            raise ValueError(f"Error in the JQL Query: Expecting a value but got '{value}'.")
        return JqlClause(field, op == "!=", (value,)), position + 3
    if op == "IN":
        if at(position + 2) != ("punct", "("):
            raise ValueError("Error in the JQL Query: Expecting '(' after IN.")
        values: list[str] = []
        position += 3
        while True:
            value_kind, value = at(position)
            if value_kind not in ("word", "string"):
                raise ValueError(f"Error in the JQL Query: Expecting a value but got '{value}'.")
            values.append(value)
            _, after = at(position + 1)
            position += 2
            if after == ")":
                return JqlClause(field, False, tuple(values)), position
            if after != ",":
                raise ValueError(f"Error in the JQL Query: Expecting ',' or ')' but got '{after}'.")
    raise ValueError(f"Error in the JQL Query: Expecting operator but got '{op}'.")


def jql_matches(clauses: Sequence[JqlClause], values_of: Callable[[str], Sequence[str]]) -> bool:
    """Whether an issue whose searchable values per field ``values_of`` gives matches every clause.

    Jira compares names of statuses, types and projects without regard to case; labels and keys as given.
    """
    for clause in clauses:
        have = {_fold(clause.field, v) for v in values_of(clause.field)}
        hit = any(_fold(clause.field, v) in have for v in clause.values)
        if hit == clause.negated:
            return False
    return True


def _fold(field: str, value: str) -> str:
    return value if field == "labels" else value.casefold()
