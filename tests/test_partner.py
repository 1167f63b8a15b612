from __future__ import annotations

import json
import logging

import httpx
import pytest
import respx

from green_tg_async import (
    AsyncGreenPartner,
    AuthenticationError,
    BreakerPolicy,
    RateLimits,
    RetryPolicy,
)
from green_tg_async.stores import MemoryStore
from tests.helpers import FakeClock, RecordingSleep, ResponseErrors

PARTNER_TOKEN = "Partn3rT0kenForTests-xyz"
URL = "https://partner.example"


def _partner(**options: object) -> AsyncGreenPartner:
    options.setdefault("store", MemoryStore())
    options.setdefault("retry", RetryPolicy(sleep=RecordingSleep()))
    return AsyncGreenPartner(
        PARTNER_TOKEN,
        partner_api_url=URL,
        limits=RateLimits(enabled=False),
        breaker=BreakerPolicy(clock=FakeClock()),
        **options,  # type: ignore[arg-type]
    )


async def test_get_instances_uses_the_partner_path() -> None:
    with respx.mock(assert_all_called=True) as router:
        route = router.get(f"{URL}/partner/getInstances/{PARTNER_TOKEN}").respond(
            json=[
                {"idInstance": 4100000001, "name": "a", "typeInstance": "telegram"},
                {"idInstance": 4100000002, "deleted": True},
            ]
        )
        async with _partner() as partner:
            found = await partner.get_instances()
    assert [(i.id_instance, i.type_instance) for i in found] == [
        (4100000001, "telegram"),
        (4100000002, None),
    ]
    assert found[1].deleted is True
    assert route.call_count == 1


async def test_create_instance_sends_name_and_settings_and_hides_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with respx.mock() as router:
        route = router.post(f"{URL}/partner/createInstance/{PARTNER_TOKEN}").respond(
            json={
                "idInstance": 4100000003,
                "apiTokenInstance": "NewInstanceToken",
                "typeInstance": "telegram",
            }
        )
        async with _partner() as partner:
            created = await partner.create_instance(
                name="bot", webhook_url="https://hook", incoming_webhook=True
            )
    assert json.loads(route.calls.last.request.content) == {
        "name": "bot",
        "webhookUrl": "https://hook",
        "incomingWebhook": "yes",
    }
    assert created.id_instance == 4100000003
    assert created.api_token_instance == "NewInstanceToken"
    assert "NewInstanceToken" not in repr(created)
    with caplog.at_level(logging.INFO, logger="green_tg_async"):
        logging.getLogger("green_tg_async").info("made %s", created.raw)
    assert "NewInstanceToken" not in caplog.text


async def test_delete_instance_account_and_bad_ids() -> None:
    with respx.mock() as router:
        route = router.post(
            f"{URL}/partner/deleteInstanceAccount/{PARTNER_TOKEN}"
        ).respond(json={"deleteInstanceAccount": True})
        async with _partner() as partner:
            assert (await partner.delete_instance_account("4100000003")).ok is True
            with pytest.raises(ValueError, match="digits"):
                await partner.delete_instance_account("41x")
            with pytest.raises(TypeError, match="unknown setting"):
                await partner.create_instance(colour="red")  # type: ignore[call-arg]
    assert json.loads(route.calls.last.request.content) == {"idInstance": 4100000003}
    assert route.call_count == 1


async def test_partner_errors_and_retries_go_through_the_pipeline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sleep = RecordingSleep()
    with respx.mock() as router:
        router.get(f"{URL}/partner/getInstances/{PARTNER_TOKEN}").mock(
            side_effect=[httpx.Response(502), httpx.Response(200, json=[])]
        )
        router.post(f"{URL}/partner/createInstance/{PARTNER_TOKEN}").respond(401)
        async with _partner(retry=RetryPolicy(sleep=sleep)) as partner:
            with caplog.at_level(logging.DEBUG, logger="green_tg_async"):
                assert await partner.get_instances() == []
                with pytest.raises(AuthenticationError) as info:
                    await partner.create_instance()
    assert len(sleep.delays) == 1  # the read was retried once after the 502
    assert PARTNER_TOKEN not in str(info.value)
    assert PARTNER_TOKEN not in caplog.text


def test_partner_config_from_env_and_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GREEN_API_PARTNER_TOKEN", PARTNER_TOKEN)
    monkeypatch.delenv("GREEN_API_PARTNER_URL", raising=False)
    partner = AsyncGreenPartner()
    assert PARTNER_TOKEN not in repr(partner)
    assert "4100.api.green-api.com" in repr(partner)
    monkeypatch.delenv("GREEN_API_PARTNER_TOKEN")
    with pytest.raises(ValueError, match="partner_token is required"):
        AsyncGreenPartner()
    with pytest.raises(ValueError, match="partner_api_url must start"):
        AsyncGreenPartner(PARTNER_TOKEN, partner_api_url="ftp://x")


async def test_closed_partner_refuses_calls() -> None:
    partner = _partner()
    async with partner:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        await partner.get_instances()


async def test_a_coded_500_in_a_200_is_retried_like_a_500() -> None:
    """Classified in the pipeline: an idempotent read is tried again."""
    with respx.mock() as router:
        route = router.get(f"{URL}/partner/getInstances/{PARTNER_TOKEN}")
        route.side_effect = [
            httpx.Response(200, json={"code": 502, "description": "Bad Gateway"}),
            httpx.Response(200, json=[{"idInstance": 4100000001}]),
        ]
        async with _partner() as partner:
            found = await partner.get_instances()
    assert [i.id_instance for i in found] == [4100000001]
    assert route.call_count == 2


async def test_a_coded_refusal_is_a_failed_attempt_for_the_hooks() -> None:
    seen = ResponseErrors()
    with respx.mock() as router:
        router.get(f"{URL}/partner/getInstances/{PARTNER_TOKEN}").respond(
            json={"code": 401, "description": "Unauthorized"}
        )
        async with _partner(hooks=[seen]) as partner:
            with pytest.raises(AuthenticationError) as info:
                await partner.get_instances()
    assert seen.errors == ["AuthenticationError"]
    assert info.value.status_code == 200
