"""`with_options()` and the `request()` escape hatch (DESIGN §8)."""

from __future__ import annotations

import httpx
import pytest
import respx

from green_tg_async import (
    AsyncGreenTelegram,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimits,
    RetryPolicy,
    ServerError,
)
from tests.helpers import API_TOKEN, RecordingSleep

FOUND = {"exist": True, "chatId": "10000000"}


async def test_a_copy_shares_the_breaker_both_ways(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.post(f"/checkAccount/{API_TOKEN}").respond(
        469, text="User get contact info limit reached"
    )
    copy = client.with_options(timeout=5)
    with pytest.raises(ContactInfoLimitError):
        await copy.service.check_account(79001234568)
    with pytest.raises(CircuitOpenError):
        await client.service.check_account(79001234568)  # refused, not sent
    assert route.call_count == 1
    await client.breaker.reset()
    route.respond(200, json=FOUND)
    assert (await copy.service.check_account(79001234568)).exist


async def test_a_copy_changes_only_its_options_and_shares_the_connections(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.get(f"/getStateInstance/{API_TOKEN}").respond(
        200, json={"stateInstance": "authorized"}
    )
    copy = client.with_options(timeout=7.5, retry=RetryPolicy(max_attempts=1))
    assert copy._transport is client._transport
    assert copy.store is client.store
    assert copy.breaker is client.breaker
    assert copy.account._client is copy  # sections belong to the copy
    assert client.account._client is client
    await copy.account.get_state_instance()
    assert route.calls.last.request.extensions["timeout"]["read"] == 7.5
    await client.account.get_state_instance()
    assert route.calls.last.request.extensions["timeout"]["read"] != 7.5
    assert copy.retry_policy.max_attempts == 1
    assert client.retry_policy.max_attempts == 3
    # Closing the copy leaves the original (and its connections) working.
    await copy.aclose()
    assert (await client.account.get_state_instance()).state_instance == "authorized"
    with pytest.raises(RuntimeError, match="closed"):
        await copy.account.get_state_instance()


async def test_retry_and_limits_of_a_copy(
    client: AsyncGreenTelegram, api: respx.MockRouter, sleep: RecordingSleep
) -> None:
    route = api.get(f"/getStateInstance/{API_TOKEN}").mock(
        side_effect=[
            httpx.Response(502),
            httpx.Response(200, json={"stateInstance": "x"}),
        ]
    )
    once = client.with_options(retry=RetryPolicy(max_attempts=1, sleep=sleep))
    with pytest.raises(ServerError):
        await once.account.get_state_instance()
    assert route.call_count == 1
    assert (await client.account.get_state_instance()).state_instance == "x"
    limited = client.with_options(limits=RateLimits(default=2.0))
    assert limited._limiter is not client._limiter
    assert client.with_options(timeout=None)._limiter is client._limiter


async def test_a_closed_client_has_no_copies(client: AsyncGreenTelegram) -> None:
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        client.with_options(timeout=1)


async def test_request_uses_the_table_row_of_a_known_method(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.get(f"/getStateInstance/{API_TOKEN}").respond(
        200, json={"stateInstance": "authorized", "newField": 1}
    )
    data = await client.request("getStateInstance")  # POST by default: the row wins
    assert data == {"stateInstance": "authorized", "newField": 1}
    assert route.call_count == 1


async def test_request_sends_new_fields_and_new_methods(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    sent = api.post(f"/sendMessage/{API_TOKEN}").respond(200, json={"idMessage": "1"})
    body = {"chatId": "1", "message": "hi", "brandNewOption": True}
    assert await client.request("sendMessage", json=body) == {"idMessage": "1"}
    assert sent.calls.last.request.content == (
        b'{"chatId":"1","message":"hi","brandNewOption":true}'
    )
    new = api.get(f"/getSomethingNew/{API_TOKEN}", params={"count": "3"}).respond(
        200, json=[1, 2]
    )
    assert await client.request("getSomethingNew", params={"count": 3}, verb="get") == [
        1,
        2,
    ]
    assert new.call_count == 1


async def test_an_unknown_method_is_not_repeated_after_sending(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.get(f"/readSomething/{API_TOKEN}").respond(502)
    with pytest.raises(ServerError):
        await client.request("readSomething", verb="GET")
    assert route.call_count == 1  # a read we do not know may still be a write


async def test_request_checks_the_method_and_verb_before_sending(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    for bad in ("send/../Message", "", "sendMessage?x=1", "послать"):
        with pytest.raises(ValueError, match="letters only"):
            await client.request(bad)
    with pytest.raises(ValueError, match="verb"):
        await client.request("newMethod", verb="PUT")
    with pytest.raises(TypeError, match="JSON"):
        await client.request("newMethod", json={"x": object()})
    assert not api.calls


async def test_request_goes_through_the_breaker(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.post(f"/checkAccount/{API_TOKEN}").respond(469)
    with pytest.raises(ContactInfoLimitError):
        await client.request("checkAccount", json={"phoneNumber": 79001234568})
    with pytest.raises(CircuitOpenError):
        await client.request("brandNewMethod", json={})
    assert len(api.calls) == 1
