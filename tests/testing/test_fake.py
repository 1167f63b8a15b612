from __future__ import annotations

import asyncio

import httpx
import pytest

from green_tg_async import (
    AsyncGreenTelegram,
    AuthenticationError,
    CircuitOpenError,
    ContactInfoLimitError,
    InstanceNotReadyError,
    QuotaExceededError,
    RateLimits,
    RetryPolicy,
    ServerError,
)
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FakeGreenAPI
from tests.helpers import FakeClock, RecordingSleep, spec
from tests.resources.test_every_method import CASES, Case

pytest_plugins = ["green_tg_async.testing.pytest_plugin"]


async def test_fixtures_give_a_working_client(
    green_fake: FakeGreenAPI, green_client: AsyncGreenTelegram
) -> None:
    found = await green_client.service.check_account(79876543210)
    missing = await green_client.service.check_account(79876543211)
    assert (found.exist, found.chat_id) == (True, "76543210")
    assert (missing.exist, missing.chat_id) == (False, None)
    assert green_fake.requests == [("POST", "checkAccount")] * 2


async def test_registered_accounts_and_usernames(
    green_fake: FakeGreenAPI, green_client: AsyncGreenTelegram
) -> None:
    green_fake.add_accounts([79876543211, "@durov"])
    assert (await green_client.service.check_account(79876543211)).exist
    durov = await green_client.service.check_account(username="durov")
    assert durov.chat_id == "durov"


def _client(fake: FakeGreenAPI, **options: object) -> AsyncGreenTelegram:
    return fake.client(store=MemoryStore(), limits=RateLimits(enabled=False), **options)


@pytest.mark.parametrize("form", ["http", "body"])
async def test_469_after_n_distinct_lookups_in_the_window(form: str) -> None:
    clock = FakeClock(0.0)
    fake = FakeGreenAPI(
        lookup_limit=2,
        lookup_window=60,
        limit_form=form,  # type: ignore[arg-type]
        clock=clock,
        rate_limits=False,
    )
    async with _client(fake) as tg:
        await tg.service.check_account(79000000001)
        await tg.service.check_account(79000000001)  # the same number again
        await tg.service.check_account(79000000002)
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79000000003)
        with pytest.raises(CircuitOpenError):  # the client paused itself
            await tg.service.check_account(79000000004)
    assert len(fake.requests) == 4


async def test_old_lookups_leave_the_window() -> None:
    clock = FakeClock(0.0)
    fake = FakeGreenAPI(
        lookup_limit=1, lookup_window=60, clock=clock, rate_limits=False
    )
    async with _client(fake) as tg:
        await tg.service.check_account(79000000001)
        clock.advance(61)
        assert not (await tg.service.check_account(79000000003)).exist


async def test_rate_limit_answers_429_with_retry_after() -> None:
    clock = FakeClock(0.0)
    fake = FakeGreenAPI(clock=clock)  # getStateInstance: 1/s
    sleep = RecordingSleep()

    async def tick(seconds: float) -> None:
        await sleep(seconds)
        clock.advance(seconds)

    async with _client(fake, retry=RetryPolicy(sleep=tick, max_attempts=2)) as tg:
        await tg.account.get_state_instance()
        await tg.account.get_state_instance()  # 2nd in one second: 429, retried
    assert sleep.delays == [1.0]
    assert fake.requests == [("GET", "getStateInstance")] * 3
    raw = httpx.Request(
        "GET",
        f"https://x/waInstance{fake.id_instance}/getStateInstance/{fake.api_token}",
    )
    assert fake.handle(raw).status_code == 429  # 2nd call in the new second


async def test_instance_state_wrong_token_unknown_method_and_quota() -> None:
    fake = FakeGreenAPI(chat_quota=1, rate_limits=False)
    async with _client(fake) as tg:
        fake.state = "starting"
        assert (await tg.account.get_state_instance()).state_instance == "starting"
        with pytest.raises(InstanceNotReadyError):
            await tg.service.check_account(79876543210)
        await tg.sending.send_message("1", "hi")
        await tg.sending.send_message("1", "again")  # same chat: fine
        with pytest.raises(QuotaExceededError) as quota:
            await tg.sending.send_message("2", "hi")
        fake.fail_next(500, times=1)
        with pytest.raises(ServerError):
            await tg.sending.send_message("1", "hi")
    assert quota.value.body["correspondentsStatus"]["total"] == 1
    assert [m["message"] for m in fake.sent] == ["hi", "again"]
    async with AsyncGreenTelegram(
        fake.id_instance, "other", transport=fake.transport, store=MemoryStore()
    ) as wrong:
        with pytest.raises(AuthenticationError):
            await wrong.account.get_state_instance()
    unknown = httpx.Request(
        "POST", f"https://x/waInstance{fake.id_instance}/nope/{fake.api_token}"
    )
    assert fake.handle(unknown).status_code == 404
    elsewhere = httpx.Request("GET", "https://x/waInstance999/getStateInstance/t")
    assert fake.handle(elsewhere).status_code == 403
    assert "FakeGreenAPI" in repr(fake)


async def test_notification_queue() -> None:
    fake = FakeGreenAPI()
    receipt = fake.enqueue_notification({"typeWebhook": "stateInstanceChanged"})
    async with httpx.AsyncClient(transport=fake.transport) as http:
        base = f"https://x/waInstance{fake.id_instance}"
        got = await http.get(f"{base}/receiveNotification/{fake.api_token}")
        assert got.json() == {
            "receiptId": receipt,
            "body": {"typeWebhook": "stateInstanceChanged"},
        }
        gone = await http.delete(
            f"{base}/deleteNotification/{fake.api_token}/{receipt}"
        )
        assert gone.json() == {"result": True, "reason": ""}
        empty = await http.get(f"{base}/receiveNotification/{fake.api_token}")
        assert empty.json() is None
        bad = await http.post(f"{base}/checkAccount/{fake.api_token}", content=b"[1]")
        assert bad.status_code == 400


def test_client_refuses_both_transport_and_http_client() -> None:
    fake = FakeGreenAPI()
    http = httpx.AsyncClient()
    with pytest.raises(TypeError, match="not both"):
        fake.client(http_client=http)
    asyncio.run(http.aclose())


async def test_green_client_retries_reads_without_sleeping(
    green_fake: FakeGreenAPI, green_client: AsyncGreenTelegram
) -> None:
    green_fake.fail_next(502)
    state = await green_client.account.get_state_instance()
    assert state.state_instance == "authorized"
    assert green_fake.requests == [("GET", "getStateInstance")] * 2


async def test_malformed_bodies_are_rejected_like_the_api() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    base = f"https://x/waInstance{fake.id_instance}"
    async with httpx.AsyncClient(transport=fake.transport) as http:
        broken = await http.post(f"{base}/checkAccount/{fake.api_token}", content=b"{x")
        no_text = await http.post(
            f"{base}/sendMessage/{fake.api_token}", json={"chatId": "1"}
        )
    assert (broken.status_code, no_text.status_code) == (400, 400)


async def test_the_fake_is_an_asgi_app() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    transport = httpx.ASGITransport(app=fake.asgi)
    async with AsyncGreenTelegram(
        fake.id_instance,
        fake.api_token,
        transport=transport,
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
        api_url="http://fake",
    ) as tg:
        assert (await tg.service.check_account(79876543210)).exist
        assert (await tg.account.get_state_instance()).state_instance == "authorized"
    assert fake.requests == [("POST", "checkAccount"), ("GET", "getStateInstance")]

    async def nothing() -> dict[str, object]:
        raise AssertionError("not read")

    async def ignore(message: object) -> None:
        raise AssertionError("not sent")

    await fake.asgi({"type": "lifespan"}, nothing, ignore)  # other scopes: ignored


def test_the_fake_serves_on_loopback_from_the_command_line() -> None:
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "green_tg_async.testing", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        url = banner.split(" on ", 1)[1].split(" ", 1)[0]

        async def check() -> bool:
            async with AsyncGreenTelegram(
                "1101000001",
                "fake-token",
                api_url=url,
                store=MemoryStore(),
                limits=RateLimits(enabled=False),
            ) as tg:
                return (await tg.service.check_account(79876543210)).exist

        assert asyncio.run(check()) is True
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_serve_command_stops_cleanly_on_ctrl_c(monkeypatch: pytest.MonkeyPatch) -> None:
    from green_tg_async.testing import __main__ as serve

    async def interrupted(fake: FakeGreenAPI, host: str, port: int) -> None:
        assert (host, port, fake.lookup_limit) == ("127.0.0.1", 8765, 7)
        assert fake.rate_limits is False
        raise KeyboardInterrupt

    monkeypatch.setattr(serve, "_serve", interrupted)
    argv = ["serve", "--port", "8765", "--lookup-limit", "7", "--no-rate-limits"]
    assert serve.main(argv) == 0


@pytest.mark.parametrize("case", CASES, ids=[case.method for case in CASES])
async def test_the_fake_answers_every_method_in_the_right_shape(case: Case) -> None:
    fake = FakeGreenAPI(rate_limits=False)
    fake.enqueue_notification({"typeWebhook": "stateInstanceChanged"})
    async with fake.client(store=MemoryStore()) as tg:
        await case.call(tg)  # decodes, so a wrong shape would raise here
    assert fake.requests[-1] == (case.verb, case.method)


async def test_the_fake_keeps_sends_settings_and_tokens_consistent() -> None:
    fake = FakeGreenAPI(rate_limits=False)
    async with fake.client(store=MemoryStore()) as tg:
        sent = await tg.sending.send_message("123", "hi")
        poll = await tg.sending.send_poll("123", "Q?", ["a", "b"])
        history = await tg.journals.get_chat_history("123")
        assert [m.id_message for m in history] == [poll.id_message, sent.id_message]
        assert history[1].text_message == "hi"
        await tg.account.set_settings(incoming_webhook=True)
        assert (await tg.account.get_settings()).incoming_webhook == "yes"
        old = fake.api_token
        await tg.account.update_api_token()
        assert fake.api_token != old
        assert (await tg.account.get_state_instance()).state_instance == "authorized"
        assert (await tg.account.qr()).type == "alreadyLogged"
        await tg.account.logout()
        assert (await tg.account.qr()).is_qr_code


def test_issue11_the_fake_answers_every_method_of_the_table() -> None:
    """A method added to the table without a fake answer fails here, not as a 404."""
    from green_tg_async._methods import METHODS
    from green_tg_async.testing._canned import CANNED

    fake = FakeGreenAPI()
    missing = sorted(set(METHODS) - set(CANNED) - set(fake._handlers))
    assert missing == []
    assert set(CANNED) | set(fake._handlers) <= set(METHODS)


async def test_issue11_process_state_is_one_object_that_resets() -> None:
    from green_tg_async import RateLimits
    from green_tg_async._limiter import Limiter
    from green_tg_async.stores import default_store
    from green_tg_async.testing import process_state, reset_process_state

    state = process_state()
    store = default_store()
    await store.breaker_open("{1}:breaker", until=2e9, reason="469")
    await Limiter("1", RateLimits()).acquire(spec("getSettings"))
    assert state.buckets
    assert state.default_store is store
    reset_process_state()
    assert not state.buckets
    assert default_store() is not store
    assert await default_store().breaker_get("{1}:breaker") is None
    assert "ProcessState" in repr(state)


def test_receive_long_polls_an_empty_queue_until_a_notification_arrives() -> None:
    from tests.helpers import run_in_fake_time

    async def main() -> tuple[float, float, object, object]:
        fake = FakeGreenAPI(rate_limits=False)
        loop = asyncio.get_running_loop()
        async with fake.client(store=MemoryStore()) as tg:
            start = loop.time()
            empty = await tg.receiving.receive_notification(receive_timeout=7)
            waited_empty = loop.time() - start
            loop.call_later(2, fake.incoming_text, 1, "late")
            start = loop.time()
            item = await tg.receiving.receive_notification(receive_timeout=7)
            return waited_empty, loop.time() - start, empty, item

    waited_empty, waited_item, empty, item = run_in_fake_time(main())
    assert empty is None
    assert waited_empty == pytest.approx(7, abs=0.01)
    assert item is not None
    assert waited_item == pytest.approx(2, abs=0.01)


async def test_the_scripted_login_flow_answers_like_green_api() -> None:
    from green_tg_async import AuthorizationError

    fake = FakeGreenAPI(rate_limits=False)
    async with fake.client(store=MemoryStore()) as tg:
        # Without a script every step is accepted, as before.
        assert (await tg.account.send_authorization_code("1")).result == "success"
        assert (await tg.account.send_authorization_password("p")).result == "success"
        assert (await tg.account.start_authorization(79001234567)).status
        assert (await tg.account.qr()).type == "alreadyLogged"
        fake.state = "notAuthorized"
        assert (await tg.account.qr()).message == "iVBORw0KGgo="

        fake.script_login(code="777", password="pw")
        reasons = []
        for step in (
            tg.account.send_authorization_code("777"),  # not started
            tg.account.send_authorization_password("pw"),  # no password asked
        ):
            with pytest.raises(AuthorizationError) as refused:
                await step
            reasons.append(refused.value.reason)
        assert reasons == ["authorization_not_started", "authorization_not_started"]
        await tg.account.start_authorization(79001234567)
        with pytest.raises(AuthorizationError, match="invalid_password"):
            await tg.account.send_authorization_code("777", password="nope")
        assert fake.state == "pendingPassword"
        qr = await tg.account.qr()
        assert qr.type == "error"
        assert "password" in str(qr.message)
        await tg.account.send_authorization_password("pw")
        assert fake.state == "authorized"
        with pytest.raises(AuthorizationError, match="already_registered"):
            await tg.account.start_authorization(79001234567)

        fake.script_login(code="1", password="pw")
        await tg.account.start_authorization(79001234567)
        await tg.account.send_authorization_code("1", password="pw")  # in one call
        assert fake.state == "authorized"


def test_a_receive_timeout_that_is_not_a_number_does_not_wait() -> None:
    from green_tg_async.testing._requests import long_poll_seconds

    path = "/waInstance1/receiveNotification/token"
    bad = httpx.Request("GET", f"https://fake.invalid{path}?receiveTimeout=soon")
    good = httpx.Request("GET", f"https://fake.invalid{path}?receiveTimeout=5")

    assert (long_poll_seconds(bad), long_poll_seconds(good)) == (0.0, 5.0)
