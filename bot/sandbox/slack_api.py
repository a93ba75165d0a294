"""The Slack Web API methods the sandbox implements, one mixin per method family over the shared state.

Transport (auth, argument parsing, fault injection) lives in bot/sandbox/slack.py; a new method goes in its
family's module and into method_table() below, and its scope, JSON and boolean rules into slack_method_rules.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sandbox.slack_chat import ChatMethods
from bot.sandbox.slack_conversations import ConversationMethods
from bot.sandbox.slack_directory import DirectoryMethods
from bot.sandbox.slack_files import FileMethods
from bot.sandbox.slack_history import HistoryMethods
from bot.sandbox.slack_install import AppInstall
from bot.sandbox.slack_response_urls import ResponseUrls
from bot.sandbox.slack_views import ViewMethods

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class SlackApi(ChatMethods, ViewMethods, ConversationMethods, HistoryMethods, DirectoryMethods, ResponseUrls,
               AppInstall, FileMethods):
    def method_table(self) -> dict[str, Handler]:
        # Bound methods, looked up on self, so a subclass overriding one (benchmarks do) is what gets called.
        return {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.getPermalink": self.chat_get_permalink,
            "views.open": self.views_open,
            "views.update": self.views_update,
            "views.push": self.views_push,
            "views.publish": self.views_publish,
            "conversations.create": self.conversations_create,
            "conversations.setTopic": self.conversations_set_topic,
            "conversations.invite": self.conversations_invite,
            "conversations.info": self.conversations_info,
            "conversations.join": self.conversations_join,
            "conversations.members": self.conversations_members,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "conversations.list": self.conversations_list,
            "usergroups.users.list": self.usergroups_users_list,
            "users.info": self.users_info,
            "users.lookupByEmail": self.users_lookup_by_email,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
        }
