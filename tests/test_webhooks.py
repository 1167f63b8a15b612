from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from green_tg_async.models.notifications import (
    NotificationBody,
    StateInstanceChanged,
    UnknownNotification,
)
from green_tg_async.webhooks import (
    WebhookApp,
    parse_webhook_body,
    verify_authorization,
)

TOKEN = "WebhookT0ken-abc"
BODY = {"typeWebhook": "stateInstanceChanged", "stateInstance": "authorized"}


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.seen: list[NotificationBody] = []
        self.fail = fail

    async def __call__(self, notification: NotificationBody) -> None:
        if self.fail:
            raise RuntimeError("database down")
        self.seen.append(notification)


async def _post(
    app: WebhookApp,
    body: Any = BODY,
    *,
    auth: str | None = f"Bearer {TOKEN}",
    method: str = "POST",
) -> httpx.Response:
    headers = {"Authorization": auth} if auth is not None else {}
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hook") as http:
        return await http.request(method, "/green", content=content, headers=headers)


async def test_a_valid_notification_reaches_the_handler_then_200() -> None:
    handler = Recorder()
    response = await _post(WebhookApp(handler, token=TOKEN))
    assert response.status_code == 200
    assert len(handler.seen) == 1
    assert isinstance(handler.seen[0], StateInstanceChanged)
    assert handler.seen[0].state_instance == "authorized"


@pytest.mark.parametrize(
    "auth",
    [None, "", TOKEN, f"Bearer {TOKEN}x", f"Basic {TOKEN}", "Bearer wrong"],
)
async def test_a_wrong_or_missing_token_is_401_and_the_handler_never_runs(
    auth: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Recorder()
    with caplog.at_level(logging.WARNING):
        response = await _post(WebhookApp(handler, token=TOKEN), auth=auth)
    assert response.status_code == 401
    assert handler.seen == []
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("body", [b"{broken", b"[1, 2]", b"", b'"text"'])
async def test_bad_json_is_400(body: bytes) -> None:
    handler = Recorder()
    response = await _post(WebhookApp(handler, token=TOKEN), body)
    assert response.status_code == 400
    assert handler.seen == []


async def test_a_failing_handler_answers_500_so_green_api_redelivers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await _post(WebhookApp(Recorder(fail=True), token=TOKEN))
    assert response.status_code == 500
    assert "database down" in caplog.text
    assert "GREEN-API will redeliver" in caplog.text


async def test_unknown_types_reach_the_handler_with_raw() -> None:
    handler = Recorder()
    body = {"typeWebhook": "brandNew", "x": [1]}
    assert (await _post(WebhookApp(handler, token=TOKEN), body)).status_code == 200
    assert handler.seen == [UnknownNotification("brandNew", raw=body)]
    assert handler.seen[0].raw == body


async def test_other_verbs_are_405_and_big_bodies_413() -> None:
    handler = Recorder()
    response = await _post(WebhookApp(handler, token=TOKEN), method="GET")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    small = WebhookApp(handler, token=TOKEN, max_body=10)
    assert (await _post(small)).status_code == 413
    assert handler.seen == []


async def test_the_check_can_be_off_or_use_a_bare_token() -> None:
    handler = Recorder()
    assert (await _post(WebhookApp(handler, token=None), auth=None)).status_code == 200
    bare = WebhookApp(handler, token=TOKEN, scheme="")
    assert (await _post(bare, auth=TOKEN)).status_code == 200
    assert len(handler.seen) == 2


def test_verify_authorization() -> None:
    assert verify_authorization(f"Bearer {TOKEN}", TOKEN)
    assert verify_authorization(f"  Bearer {TOKEN} ", TOKEN)
    assert not verify_authorization(None, TOKEN)
    assert not verify_authorization(f"bearer {TOKEN}x", TOKEN)
    with pytest.raises(ValueError, match="empty"):
        verify_authorization("Bearer ", "")


def test_constant_time_compare_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    import hmac

    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert verify_authorization(f"Bearer {TOKEN}", TOKEN)
    assert calls == [(f"Bearer {TOKEN}".encode(), f"Bearer {TOKEN}".encode())]


def test_parse_webhook_body_and_app_construction() -> None:
    parsed = parse_webhook_body(json.dumps(BODY))
    assert isinstance(parsed, StateInstanceChanged)
    with pytest.raises(ValueError, match="not JSON"):
        parse_webhook_body("nope")
    with pytest.raises(ValueError, match="token is empty"):
        WebhookApp(Recorder(), token="")
    app = WebhookApp(Recorder(), token=TOKEN)
    assert TOKEN not in repr(app)
    assert "Recorder" in repr(app) or "?" in repr(app)


async def test_lifespan_and_other_scopes() -> None:
    app = WebhookApp(Recorder(), token=TOKEN)
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    await app({"type": "websocket"}, receive, send)
    assert len(sent) == 2


async def test_a_client_that_disconnects_mid_body_gets_400() -> None:
    app = WebhookApp(Recorder(), token=None)
    messages: Iterator[dict[str, Any]] = iter(
        [
            {"type": "http.request", "body": b"{", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    await app({"type": "http", "method": "POST", "headers": []}, receive, send)
    assert sent[0]["status"] == 400


async def test_routed_in_starlette_like_the_readme_shows() -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount, Route

    handler = Recorder()
    app = WebhookApp(handler, token=TOKEN)
    api = Starlette(
        routes=[
            Route("/green-api", app, methods=["POST"]),  # the exact path
            Mount("/mounted", app),
        ]
    )
    auth = {"Authorization": f"Bearer {TOKEN}"}
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://hook") as http:
        ok = await http.post("/green-api", json=BODY, headers=auth)
        refused = await http.post("/green-api", json=BODY)
        mounted = await http.post("/mounted/", json=BODY, headers=auth)
        # A Mount redirects the bare path: a webhook sender that does not
        # follow redirects would lose the notification (README says so).
        bare = await http.post("/mounted", json=BODY, headers=auth)
    assert (ok.status_code, refused.status_code) == (200, 401)
    assert mounted.status_code == 200
    assert bare.status_code == 307
    assert len(handler.seen) == 2
