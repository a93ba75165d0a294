"""Who's who: auth.test, users.info, users.lookupByEmail and usergroups.users.list."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack_lookups import SlackLookups
from bot.sandbox.slack_state import ApiFailure


class DirectoryMethods(SlackLookups):
    def auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://sandbox.slack.local/",
            "team": "Sandbox",
            "user": self.users[self.bot_user_id].name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        group = self.usergroups.get(str(params.get("usergroup")))
        if group is None:
            raise ApiFailure("no_such_subteam")
        return {"users": list(group["users"])}

    def users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(params.get("user")))
        if user is None:
            raise ApiFailure("user_not_found")
        return {"user": user.to_api(self.team_id)}

    def users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        # Slack compares addresses case-insensitively and answers users_not_found (not user_not_found) here.
        email = str(params.get("email") or "").strip().lower()
        if not email:
            raise ApiFailure("invalid_arguments")
        for user in self.users.values():
            if user.email and user.email.lower() == email:
                return {"user": user.to_api(self.team_id)}
        raise ApiFailure("users_not_found")
