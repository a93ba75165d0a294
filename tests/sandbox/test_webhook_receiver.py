"""The webhook receiver stand-in refuses what a careful receiver refuses: a wrong or missing signature, a stale
timestamp, an event ID header that disagrees with the body; and fails on request."""

from __future__ import annotations

import json
import time

import httpx

from bot.sandbox.webhook_receiver import WebhookReceiver, expected_signature
from bot.webhooks.delivery import encode, signed_headers

SECRET = "receiver-secret"


async def _post(receiver: WebhookReceiver, body: bytes, headers: dict[str, str]) -> int:
    async with httpx.AsyncClient() as http:
        return (await http.post(receiver.url, content=body, headers=headers)).status_code


async def test_a_signed_delivery_is_taken_and_anything_else_refused() -> None:
    async with WebhookReceiver(secret=SECRET) as receiver:
        body = encode({"event_id": "evt_1", "action": "filed"})
        now = int(time.time())
        good = signed_headers(secret=SECRET, event_id="evt_1", body=body, timestamp=now)
        assert good["X-Supportbot-Signature"] == expected_signature(SECRET, str(now), body)
        assert await _post(receiver, body, good) == 200
        assert await _post(receiver, body, signed_headers(secret="wrong", event_id="evt_1", body=body,
                                                          timestamp=now)) == 401
        assert await _post(receiver, body, signed_headers(secret=SECRET, event_id="evt_1", body=body,
                                                          timestamp=now - 301)) == 401
        assert await _post(receiver, body + b" ", good) == 401  # the raw body is what is signed
        assert await _post(receiver, body, {**signed_headers(secret=SECRET, event_id="evt_2", body=body,
                                                             timestamp=now)}) == 400
        receiver.fail_next(500, times=2)
        assert [await _post(receiver, body, good) for _ in range(3)] == [500, 500, 200]
        assert [d.event_id for d in receiver.accepted] == ["evt_1", "evt_1"]
        assert receiver.accepted_events() == {"evt_1": json.loads(body)}
