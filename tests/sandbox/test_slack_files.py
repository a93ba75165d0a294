"""The sandbox's file upload flow, driven by the real slack_sdk client: files.getUploadURLExternal, the POST of
the bytes to the upload URL, files.completeUploadExternal, each refusing what Slack refuses with Slack's error."""

from __future__ import annotations

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SlackSandbox
from bot.sandbox.slack_files import UPLOAD_CALL
from bot.sandbox.slack_install import load_manifest

TRIAGE = "C0TRIAGE01"  # the bot is a member (workspace.populate)
FLOW = ("files.getUploadURLExternal", UPLOAD_CALL, "files.completeUploadExternal")


async def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as refused:
        await call  # type: ignore[misc]
    return str(refused.value.response["error"])


async def test_files_upload_v2_runs_the_three_steps_in_order_and_shares_one_message(
        sandbox: SlackSandbox, client: AsyncWebClient) -> None:
    answer = await client.files_upload_v2(channel=TRIAGE, initial_comment="Chart and tickets",
                                          file_uploads=[{"file": b"\x89PNG fake", "filename": "chart.png",
                                                         "title": "Chart"},
                                                        {"file": b"number\n1\n", "filename": "tickets.csv"}])
    assert answer["ok"] and [f["title"] for f in answer["files"]] == ["Chart", "tickets.csv"]
    flow = [c.method for c in sandbox.calls if c.method in FLOW]
    assert flow == [FLOW[0], FLOW[0], FLOW[1], FLOW[1], FLOW[2]]  # every URL, every upload, one completion
    shared = sandbox.history(TRIAGE)[-1]
    assert shared.text == "Chart and tickets"
    assert [f["name"] for f in shared.files or []] == ["chart.png", "tickets.csv"]
    assert sandbox.uploads[answer["files"][1]["id"]].content == b"number\n1\n"
    assert "files" in shared.to_api(sandbox.team_id)


async def test_get_upload_url_needs_a_filename_and_a_positive_integer_length(client: AsyncWebClient) -> None:
    assert await _error(client.files_getUploadURLExternal(filename="a.csv", length=0)) == "missing_argument"
    assert await _error(client.api_call("files.getUploadURLExternal", params={"length": 3})) == "missing_argument"
    assert await _error(client.api_call("files.getUploadURLExternal",
                                        params={"filename": "a.csv", "length": "three"})) == "invalid_arguments"
    answer = await client.files_getUploadURLExternal(filename="a.csv", length=3)
    assert answer["file_id"].startswith("F") and "/upload/v1/" in answer["upload_url"]


async def test_the_upload_url_checks_the_length_and_completion_refuses_a_file_without_bytes(
        sandbox: SlackSandbox, client: AsyncWebClient) -> None:
    answer = await client.files_getUploadURLExternal(filename="a.csv", length=5)
    async with aiohttp.ClientSession() as http:
        async with http.post(answer["upload_url"], data=b"toolong") as wrong:
            assert wrong.status == 400
        refused = await _error(client.files_completeUploadExternal(files=[{"id": answer["file_id"]}],
                                                                   channel_id=TRIAGE))
        assert refused == "file_not_found"  # issued, but the bytes never arrived
        async with http.post(answer["upload_url"], data=b"12345") as right:
            assert right.status == 200 and await right.text() == "OK - 5"
        async with http.post(f"{sandbox.base_url}/upload/v1/FNOSUCHFILE", data=b"12345") as unknown:
            assert unknown.status == 404
    done = await client.files_completeUploadExternal(files=[{"id": answer["file_id"], "title": "T"}],
                                                     channel_id=TRIAGE)
    assert done["files"] == [{"id": answer["file_id"], "title": "T"}]
    # "This method can only be called once": the upload ticket is spent.
    again = await _error(client.files_completeUploadExternal(files=[{"id": answer["file_id"]}], channel_id=TRIAGE))
    assert again == "file_not_found"


async def test_completion_refuses_unknown_ids_bad_files_and_channels_the_bot_is_not_in(
        sandbox: SlackSandbox, client: AsyncWebClient) -> None:
    assert await _error(client.files_completeUploadExternal(files=[{"id": "F0NOTISSUED"}])) == "file_not_found"
    assert await _error(client.api_call("files.completeUploadExternal",
                                        params={"files": '{"id": "F1"}'})) == "invalid_arguments"
    assert await _error(client.api_call("files.completeUploadExternal",
                                        params={"files": "not json"})) == "invalid_arguments"
    assert await _error(client.api_call("files.completeUploadExternal", params={})) == "missing_argument"
    answer = await client.files_getUploadURLExternal(filename="a.csv", length=1)
    async with aiohttp.ClientSession() as http, http.post(answer["upload_url"], data=b"x") as posted:
        assert posted.status == 200
    sandbox.add_channel("C0LONELY01", "lonely", members=[], bot_member=False)
    refused = await _error(client.files_completeUploadExternal(files=[{"id": answer["file_id"]}],
                                                               channel_id="C0LONELY01"))
    assert refused == "not_in_channel"
    missing = await _error(client.files_completeUploadExternal(files=[{"id": answer["file_id"]}],
                                                               channel_id="C0NOWHERE1"))
    assert missing == "channel_not_found"


async def test_both_methods_need_files_write(sandbox: SlackSandbox, client: AsyncWebClient) -> None:
    manifest = load_manifest()
    manifest["oauth_config"]["scopes"]["bot"] = [s for s in manifest["oauth_config"]["scopes"]["bot"]
                                                 if s != "files:write"]
    sandbox.install_app(manifest)
    with pytest.raises(SlackApiError) as refused:
        await client.files_getUploadURLExternal(filename="a.csv", length=1)
    assert refused.value.response["error"] == "missing_scope" and refused.value.response["needed"] == "files:write"
    assert await _error(client.files_completeUploadExternal(files=[{"id": "F1"}])) == "missing_scope"
