"""Slack's current file upload flow, as strict as Slack: files.getUploadURLExternal hands out an upload URL on the
sandbox's own server and a file ID, the bytes are POSTed to that URL, and files.completeUploadExternal shares the
uploaded files in a channel as one message carrying them. (`files.upload` is retired; it is not served.)

Errors are the ones docs.slack.dev/reference/methods/files.getUploadURLExternal and
…/files.completeUploadExternal list: `missing_argument` for a zero length or no filename ("typically only occurs
when the length provided is 0"), `invalid_arguments` for a length that is not an integer or a `files` argument
that is not an array of objects with an `id`, `file_not_found` for an ID Slack never issued or whose bytes never
arrived, `channel_not_found` and `not_in_channel` for where it is shared. completeUploadExternal "can only be
called once": a second completion of the same file is `file_not_found` too, as the upload ticket is spent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.sandbox.slack_lookups import SlackLookups
from bot.sandbox.slack_models import Call, slack_id
from bot.sandbox.slack_params import json_param
from bot.sandbox.slack_state import ApiFailure

UPLOAD_CALL = "(upload)"  # how the bytes' POST to an upload URL shows in `calls`
MAX_FILENAME = 255
MAX_ALT_TEXT = 1000  # alt_txt_too_large: "longer than the limit of 1000 character"


@dataclass
class UploadedFile:
    """One file's way through the flow: issued, its bytes received, completed (shared)."""

    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    completed: bool = False
    shared_in: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.filename, "title": self.title or self.filename, "size": self.length}


class FileMethods(SlackLookups):
    @property
    def uploads(self) -> dict[str, UploadedFile]:
        """Every file ID handed out, by ID (kept on the instance; created on first use)."""
        return self.__dict__.setdefault("_uploads", {})  # type: ignore[no-any-return]

    def files_get_upload_url_external(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = params.get("filename")
        raw_length = params.get("length")
        if not filename or raw_length in (None, ""):
            raise ApiFailure("missing_argument")
        try:
            length = int(str(raw_length))
        except ValueError:
            raise ApiFailure("invalid_arguments", messages=["[ERROR] must be an integer [json-pointer:/length]"]) \
                from None
        if length <= 0:
            raise ApiFailure("missing_argument")
        if len(str(filename)) > MAX_FILENAME:
            raise ApiFailure("invalid_arguments", messages=["[ERROR] filename too long [json-pointer:/filename]"])
        if len(str(params.get("alt_txt") or "")) > MAX_ALT_TEXT:
            raise ApiFailure("alt_txt_too_large")
        file_id = slack_id("F")
        self.uploads[file_id] = UploadedFile(id=file_id, filename=str(filename), length=length)
        return {"upload_url": f"{self.upload_base_url()}/upload/v1/{file_id}", "file_id": file_id}

    def upload_base_url(self) -> str:
        """Where upload URLs point: the server this sandbox listens on (LocalServer gives it)."""
        return str(getattr(self, "base_url"))  # noqa: B009 (a LocalServer property, not known to this mixin)

    async def handle_file_upload(self, request: web.Request) -> web.Response:
        """The upload URL: takes the raw bytes (or one multipart part), 200 "OK - <length>" as Slack answers;
        a length other than the one announced, or an unknown or used URL, is refused."""
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None or upload.completed:
            return web.Response(status=404, text="file_not_found")
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            part = await reader.next()
            data = await part.read() if part is not None and hasattr(part, "read") else b""
        else:
            data = await request.read()
        if len(data) != upload.length:
            return web.Response(status=400, text=f"length_mismatch: announced {upload.length}, got {len(data)}")
        upload.content = bytes(data)
        # Among the Web API calls, so a test can see the order of the whole flow (URL, bytes, completion).
        self.calls.append(Call(UPLOAD_CALL, {"file_id": upload.id, "length": len(data)}, time.time(), True, None))
        return web.Response(status=200, text=f"OK - {len(data)}")

    def files_complete_upload_external(self, params: dict[str, Any]) -> dict[str, Any]:
        files = json_param(params, "files", "invalid_arguments")
        if files is None:
            raise ApiFailure("missing_argument")
        if not isinstance(files, list) or not files or \
                not all(isinstance(f, dict) and isinstance(f.get("id"), str) for f in files):
            raise ApiFailure("invalid_arguments", messages=["[ERROR] must be an array of objects with an id "
                                                            "[json-pointer:/files]"])
        chosen: list[UploadedFile] = []
        for item in files:
            upload = self.uploads.get(item["id"])
            # Issued but never uploaded, or already completed: Slack has no file behind the ticket.
            if upload is None or upload.content is None or upload.completed:
                raise ApiFailure("file_not_found")
            chosen.append(upload)
        channel_id = params.get("channel_id") or params.get("channels")
        channel = None
        if channel_id:
            channel = self.resolve_channel(str(channel_id).split(",")[0])
            if self.bot_user_id not in channel.members:
                raise ApiFailure("not_in_channel")
        for upload, item in zip(chosen, files, strict=True):
            upload.title = str(item.get("title") or upload.filename)
            upload.completed = True
        if channel is not None:
            comment = str(params.get("initial_comment") or "")
            message = self.record_message(channel.id, comment, [], params.get("thread_ts") or None,
                                          self.bot_user_id)
            message.files = [u.to_api() for u in chosen]
            for upload in chosen:
                upload.shared_in.append(channel.id)
        return {"files": [{"id": u.id, "title": u.title} for u in chosen]}
