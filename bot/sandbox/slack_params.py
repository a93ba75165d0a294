"""Reading Web API arguments the way Slack does, whether they came form-encoded or as a JSON body."""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.slack_state import ApiFailure


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true")) or value == 1


def json_param(params: dict[str, Any], key: str, error: str) -> Any:
    """Form-encoded calls carry blocks/view as JSON strings; JSON-body calls carry them as structures."""
    value = params.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiFailure(error, messages=[f"[ERROR] invalid JSON [json-pointer:/{key}]"]) from None
    return value


def id_list(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        if value.startswith("["):
            return [str(v) for v in json.loads(value)]
        return [v.strip() for v in value.split(",") if v.strip()]
    return []
