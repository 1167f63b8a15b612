from __future__ import annotations

import pytest
import respx

from green_tg_async import AsyncGreenTelegram, ResponseDecodeError
from tests.helpers import API_TOKEN


async def test_get_state_instance_is_a_get_without_body(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    route = api.get(f"/getStateInstance/{API_TOKEN}").respond(
        200, json={"stateInstance": "someNewState"}
    )

    state = await client.account.get_state_instance()

    assert state.state_instance == "someNewState"  # server enums stay open
    assert route.calls.last.request.content == b""


async def test_get_state_instance_rejects_a_bad_shape(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    api.get(f"/getStateInstance/{API_TOKEN}").respond(200, json={"state": 1})
    with pytest.raises(ResponseDecodeError, match="'stateInstance'"):
        await client.account.get_state_instance()


async def test_issue11_a_none_code_is_refused_not_sent_as_text(
    client: AsyncGreenTelegram, api: respx.MockRouter
) -> None:
    # No route: anything sent fails the test (respx refuses unmatched calls).
    with pytest.raises(TypeError, match="code"):
        await client.account.send_authorization_code(None)  # type: ignore[arg-type]
