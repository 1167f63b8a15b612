from __future__ import annotations

import httpx
import pytest
import respx

from green_tg_async import AsyncGreenTelegram, BreakerPolicy, RateLimits

from .helpers import API_TOKEN, ID_INSTANCE, PREFIX, make_client

ENV = (
    "GREEN_API_ID_INSTANCE",
    "GREEN_API_TOKEN",
    "GREEN_API_URL",
    "GREEN_API_MEDIA_URL",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


async def test_credentials_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4200000002")
    monkeypatch.setenv("GREEN_API_TOKEN", API_TOKEN)
    async with AsyncGreenTelegram() as tg:
        assert tg.id_instance == "4200000002"
        assert tg._api_url == "https://4200.api.green-api.com"
        assert tg._media_url == tg._api_url


async def test_explicit_arguments_beat_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GREEN_API_ID_INSTANCE", "4200000002")
    monkeypatch.setenv("GREEN_API_URL", "https://env.example")
    monkeypatch.setenv("GREEN_API_MEDIA_URL", "https://media-env.example/")
    async with AsyncGreenTelegram(
        4100000001, API_TOKEN, api_url="https://arg.example/"
    ) as tg:
        assert tg.id_instance == "4100000001"
        assert tg._api_url == "https://arg.example"
        assert tg._media_url == "https://media-env.example"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"api_token": API_TOKEN}, "id_instance is required"),
        ({"id_instance": ID_INSTANCE}, "api_token is required"),
        ({"id_instance": " ", "api_token": API_TOKEN}, "id_instance is required"),
        ({"id_instance": "41x", "api_token": API_TOKEN}, "digits only"),
        ({"id_instance": "410", "api_token": API_TOKEN}, "cannot derive api_url"),
        ({"id_instance": ID_INSTANCE, "api_token": "a b"}, "may only contain"),
        ({"id_instance": ID_INSTANCE, "api_token": "a/b"}, "may only contain"),
        (
            {"id_instance": ID_INSTANCE, "api_token": API_TOKEN, "api_url": "ftp://x"},
            "api_url must start with https://",
        ),
        (
            {"id_instance": ID_INSTANCE, "api_token": API_TOKEN, "media_url": "x.com"},
            "media_url must start with https://",
        ),
    ],
)
def test_bad_configuration_fails_at_construction(
    kwargs: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message) as info:
        AsyncGreenTelegram(**kwargs)  # type: ignore[arg-type]
    assert "a/b" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [{"id_instance": True, "api_token": API_TOKEN}, {"id_instance": 1, "api_token": 5}],
)
def test_wrong_credential_types_raise_type_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError, match="must be a str"):
        AsyncGreenTelegram(**kwargs)  # type: ignore[arg-type]


async def test_repr_shows_instance_and_state_never_the_token() -> None:
    tg = make_client()
    assert (
        repr(tg) == f"<AsyncGreenTelegram id_instance='{ID_INSTANCE}' state=unopened>"
    )
    async with tg:
        assert "state=opened" in repr(tg)
        assert API_TOKEN not in repr(tg.sending)
        assert API_TOKEN not in repr(tg._transport)
        assert API_TOKEN not in repr(vars(tg))
    assert "state=closed" in repr(tg)


async def test_closed_client_refuses_calls_and_reopening() -> None:
    tg = make_client()
    await tg.aclose()
    await tg.aclose()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await tg.account.get_state_instance()
    with pytest.raises(RuntimeError, match="closed"):
        async with tg:
            pass


async def test_opening_twice_is_refused() -> None:
    async with make_client() as tg:
        with pytest.raises(RuntimeError, match="opened"):
            await tg.__aenter__()


async def test_client_works_without_async_with(api: respx.MockRouter) -> None:
    api.get(f"/getStateInstance/{API_TOKEN}").respond(
        200, json={"stateInstance": "authorized"}
    )
    tg = make_client()
    try:
        assert (await tg.account.get_state_instance()).state_instance == "authorized"
    finally:
        await tg.aclose()


async def test_own_http_client_is_closed() -> None:
    tg = make_client()
    async with tg:
        pass
    assert tg._transport.http.is_closed


async def test_injected_http_client_is_never_closed(api: respx.MockRouter) -> None:
    route = api.get(f"/getStateInstance/{API_TOKEN}").respond(
        200, json={"stateInstance": "starting"}
    )
    async with httpx.AsyncClient(timeout=3.0) as http:
        async with make_client(http_client=http) as tg:
            state = await tg.account.get_state_instance()
        assert not http.is_closed
        assert state.state_instance == "starting"
        assert route.calls.last.request.extensions["timeout"]["read"] == 3.0


async def test_timeout_applies_to_an_injected_client_when_given(
    api: respx.MockRouter,
) -> None:
    route = api.get(f"/getStateInstance/{API_TOKEN}").respond(
        200, json={"stateInstance": "authorized"}
    )
    async with (
        httpx.AsyncClient(timeout=3.0) as http,
        make_client(http_client=http, timeout=7.5) as tg,
    ):
        await tg.account.get_state_instance()
    assert route.calls.last.request.extensions["timeout"]["read"] == 7.5


async def test_own_client_uses_the_timeout(api: respx.MockRouter) -> None:
    route = api.get(f"/getStateInstance/{API_TOKEN}").respond(
        200, json={"stateInstance": "authorized"}
    )
    async with make_client(timeout=12.0) as tg:
        await tg.account.get_state_instance()
    assert route.calls.last.request.extensions["timeout"]["connect"] == 12.0


async def test_default_policies_are_the_documented_ones() -> None:
    tg = AsyncGreenTelegram(ID_INSTANCE, API_TOKEN)
    try:
        assert tg._limiter._limits == RateLimits()
        assert tg.breaker._policy == BreakerPolicy()
        assert tg._retry.max_attempts == 3
        assert tg._transport.http.timeout.read == 30.0
    finally:
        await tg.aclose()


async def test_media_url_defaults_to_api_url() -> None:
    async with make_client(api_url="https://h.example/") as tg:
        assert tg._transport._prefixes == {
            "api": f"https://h.example/waInstance{ID_INSTANCE}",
            "media": f"https://h.example/waInstance{ID_INSTANCE}",
        }
    assert PREFIX.startswith("https://4100.api.green-api.com")


async def test_two_clients_of_one_instance_share_the_default_store() -> None:
    a = AsyncGreenTelegram(ID_INSTANCE, API_TOKEN)
    b = AsyncGreenTelegram(ID_INSTANCE, API_TOKEN)
    try:
        assert a._store is b._store
    finally:
        await a.aclose()
        await b.aclose()


def test_timeout_default_sentinel_has_a_readable_repr() -> None:
    import inspect

    default = inspect.signature(AsyncGreenTelegram).parameters["timeout"].default
    assert repr(default) == "NOT_GIVEN"
