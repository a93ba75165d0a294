"""The views.* Web API methods, and what Slack does with the bot's view_submission acks."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

from bot.sandbox.slack_limits import check_view, with_generated_ids
from bot.sandbox.slack_lookups import SlackLookups
from bot.sandbox.slack_models import Call, View, slack_id
from bot.sandbox.slack_params import json_param
from bot.sandbox.slack_state import ApiFailure

MAX_VIEW_STACK = 3


class ViewMethods(SlackLookups):
    def _view_param(self, params: dict[str, Any], expected_type: str) -> dict[str, Any]:
        view = json_param(params, "view", "invalid_arguments")
        errors = check_view(view, expected_type=expected_type)
        if errors:
            raise ApiFailure("invalid_arguments", messages=errors)
        assert isinstance(view, dict)
        filled: dict[str, Any] = {
            "type": expected_type,
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "state": {"values": {}},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "title": None,
            "team_id": self.team_id,
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "app_installed_team_id": self.team_id,
        }
        filled.update({k: v for k, v in view.items() if k not in ("id", "hash", "state")})
        filled["blocks"] = with_generated_ids(view.get("blocks") or [])
        return filled

    @staticmethod
    def _new_hash() -> str:
        return f"{int(time.time())}.{secrets.token_hex(4)}"

    def _new_view(self, user: str, filled: dict[str, Any], parent: View | None = None) -> View:
        """A modal on top of `parent`'s stack, or the root of a new stack."""
        view_id = slack_id("V")
        previous_id, root_id = (parent.id, parent.root_view_id) if parent else (None, view_id)
        return View(
            view_id, user, filled, self._new_hash(), previous_id, root_id, external_id=filled["external_id"]
        )

    def _check_external_id(self, view: dict[str, Any], own_id: str | None = None) -> None:
        external_id = view.get("external_id")
        if external_id and any(
            v.external_id == external_id and not v.closed and v.id != own_id for v in self.views.values()
        ):
            raise ApiFailure("duplicate_external_id")

    def views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger = self.check_trigger(params.get("trigger_id") or params.get("interactivity_pointer"))
        filled = self._view_param(params, "modal")
        self._check_external_id(filled)
        view = self._new_view(trigger.user or "", filled)
        trigger.used = True
        self.touch_view(view, "opened")
        return {"view": view.to_api()}

    def views_push(self, params: dict[str, Any]) -> dict[str, Any]:
        trigger = self.check_trigger(params.get("trigger_id") or params.get("interactivity_pointer"))
        filled = self._view_param(params, "modal")
        parent = self.views.get(trigger.view_id or "") or (
            self.latest_view_for(trigger.user) if trigger.user else None
        )
        if parent is None or parent.closed:
            raise ApiFailure("not_found")
        stack = self.open_view_stack(parent.root_view_id)
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiFailure("push_limit_reached")
        self._check_external_id(filled)
        view = self._new_view(parent.user, filled, stack[-1])
        trigger.used = True
        self.touch_view(view, "pushed")
        return {"view": view.to_api()}

    def views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id, external_id = params.get("view_id"), params.get("external_id")
        if view_id:
            view = self.views.get(view_id)
        else:
            view = next(
                (v for v in self.views.values() if external_id and v.external_id == external_id), None
            )
        if view is None or view.closed:
            raise ApiFailure("not_found")
        if params.get("hash") and params["hash"] != view.hash:
            raise ApiFailure("hash_conflict")
        filled = self._view_param(params, "modal")
        self._check_external_id(filled, view.id)
        filled["external_id"] = filled["external_id"] or view.external_id
        kept = {b.get("block_id"): (b.get("element") or {}).get("action_id") for b in filled.get("blocks", [])
                if b.get("type") == "input"}
        before = {b.get("block_id"): (b.get("element") or {}).get("action_id") for b in view.view.get("blocks", [])
                  if b.get("type") == "input"}
        # Typed input survives an update only where the input is still the same block and element.
        view.typed = {k: v for k, v in view.typed.items() if k in kept and kept[k] == before.get(k)}
        view.view, view.hash, view.external_id = filled, self._new_hash(), filled["external_id"]
        self.touch_view(view, "updated")
        return {"view": view.to_api()}

    def views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = params.get("user_id")
        if user_id not in self.users:
            raise ApiFailure("user_not_found")
        previous = self.home_views.get(str(user_id))
        if previous is not None and params.get("hash") and params["hash"] != previous["hash"]:
            raise ApiFailure("hash_conflict")
        filled = self._view_param(params, "home")
        view_id = previous["id"] if previous else slack_id("V")
        filled.update(id=view_id, hash=self._new_hash(), previous_view_id=None, root_view_id=view_id)
        self.home_views[str(user_id)] = filled
        return {"view": filled}

    def apply_view_ack(self, view_id: str, ack: Mapping[str, Any]) -> None:
        """Act on a view_submission ack the way Slack does: close, clear, update, push, or keep for errors."""
        view = self.views[view_id]
        action = ack.get("response_action")
        if action == "errors":
            return
        if action in ("update", "push"):
            try:
                filled = self._view_param({"view": ack.get("view")}, "modal")
                if action == "push" and len(self.open_view_stack(view.root_view_id)) >= MAX_VIEW_STACK:
                    raise ApiFailure("push_limit_reached")
            except ApiFailure as failure:
                # The user just sees "We had some trouble connecting"; the record is for the test to find.
                self.calls.append(Call("view_submission.ack", dict(ack), time.time(), False, failure.error))
                return
            if action == "update":
                view.view, view.hash = filled, self._new_hash()
                self.touch_view(view, "updated")
            else:
                self.touch_view(self._new_view(view.user, filled, view), "pushed")
            return
        closing = self.open_view_stack(view.root_view_id) if action == "clear" else [view]
        for each in closing:
            self.close_view(each)
