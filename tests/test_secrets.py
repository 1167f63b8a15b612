"""The API token never reaches a log line, message, repr or exception attribute."""

from __future__ import annotations

import logging

import httpx
import pytest
import respx

from green_tg_async import AsyncGreenTelegram, GreenAPIError
from green_tg_async._logging import Secret, install_redaction, redact

from .helpers import API_TOKEN, PREFIX

ERROR_PATHS = [
    httpx.Response(400, json={"message": f"bad /checkAccount/{API_TOKEN}"}),
    httpx.Response(401, text="Unauthorized"),
    httpx.Response(403, text=f"wrong host for {PREFIX}/checkAccount/{API_TOKEN}"),
    httpx.Response(404, text="Not Found"),
    httpx.Response(429, headers={"Retry-After": "1"}),
    httpx.Response(466, json={"invokeStatus": {"status": "QUOTE_EXCEEDED"}}),
    httpx.Response(469, text="User get contact info limit reached"),
    httpx.Response(499),
    httpx.Response(502, text=f"<html><body>{PREFIX}/{API_TOKEN}</body></html>"),
    httpx.Response(200, text=f"<html>{API_TOKEN}</html>"),
    httpx.Response(
        200, json={"status": False, "reason": "instance is starting or not authorized"}
    ),
    httpx.ConnectError(f"cannot reach {PREFIX}/checkAccount/{API_TOKEN}"),
    httpx.ReadTimeout(f"timed out on {API_TOKEN}"),
    httpx.RemoteProtocolError("peer closed"),
]


def _assert_clean(error: BaseException) -> None:
    for text in (str(error), repr(error), repr(vars(error)), repr(error.args)):
        assert API_TOKEN not in text


@pytest.mark.parametrize("outcome", ERROR_PATHS)
async def test_no_error_path_leaks_the_token(
    client: AsyncGreenTelegram,
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    outcome: httpx.Response | Exception,
) -> None:
    route = api.post(f"/checkAccount/{API_TOKEN}")
    if isinstance(outcome, Exception):
        route.mock(side_effect=outcome)
    else:
        route.mock(return_value=outcome)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(GreenAPIError) as info:
        await client.service.check_account(79876543210)
    logging.getLogger("green_tg_async").exception("user code logs the failure")

    _assert_clean(info.value)
    # A paused instance refuses the next call; its error is clean too.
    try:
        await client.service.check_account(79876543210)
    except GreenAPIError as again:
        _assert_clean(again)
    assert caplog.records, "DEBUG logging should have produced records"
    assert API_TOKEN not in caplog.text
    for record in caplog.records:
        assert API_TOKEN not in record.getMessage()


async def test_httpx_request_log_line_is_redacted(
    client: AsyncGreenTelegram,
    api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    api.get(f"/getStateInstance/{API_TOKEN}").respond(
        200, json={"stateInstance": "authorized"}
    )
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").info(
        "HTTP Request: GET %s/getStateInstance/%s", PREFIX, API_TOKEN
    )
    await client.account.get_state_instance()
    assert "getStateInstance/***" in caplog.text
    assert API_TOKEN not in caplog.text


def test_exception_tracebacks_in_logs_are_redacted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    install_redaction(API_TOKEN)
    caplog.set_level(logging.DEBUG)
    try:
        raise RuntimeError(f"url was {PREFIX}/x/{API_TOKEN}")
    except RuntimeError:
        logging.getLogger("green_tg_async").exception("boom")
    assert "x/***" in caplog.text
    assert API_TOKEN not in caplog.text


def test_secret_never_shows_itself() -> None:
    secret = Secret(API_TOKEN)
    assert API_TOKEN not in f"{secret} {secret!r} {[secret]}"
    assert secret.reveal() == API_TOKEN
    assert secret == Secret(API_TOKEN)
    assert secret != API_TOKEN
    assert hash(secret) == hash(Secret(API_TOKEN))


def test_redact_replaces_every_registered_token() -> None:
    install_redaction(API_TOKEN)
    install_redaction(API_TOKEN)  # idempotent
    assert redact(f"a {API_TOKEN} b {API_TOKEN}") == "a *** b ***"
    filters = logging.getLogger("httpx").filters
    assert len(filters) == 1
    assert API_TOKEN not in repr(filters[0])


class _Keep(logging.Handler):
    """A handler that keeps records, as an error tracker would."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_issue11_redaction_keeps_exc_info_and_args() -> None:
    install_redaction(API_TOKEN)
    handler = _Keep()
    log = logging.getLogger("httpx")
    log.addHandler(handler)
    try:
        try:
            raise httpx.ConnectError(f"cannot reach {PREFIX}/sendMessage/{API_TOKEN}")
        except httpx.ConnectError:
            log.exception("request %s failed after %d tries", "sendMessage", 3)
        log.warning("plain %s", "args")
    finally:
        log.removeHandler(handler)
    failed, plain = handler.records
    assert failed.exc_info is not None  # error trackers read it
    assert failed.args == ("sendMessage", 3)
    assert plain.args == ("args",)
    text = logging.Formatter().format(failed)
    assert "request sendMessage failed after 3 tries" in text
    assert "ConnectError" in text
    assert API_TOKEN not in text
    assert API_TOKEN not in str(failed.exc_info[1])


def test_issue11_a_token_in_the_args_is_redacted_in_place() -> None:
    install_redaction(API_TOKEN)
    handler = _Keep()
    log = logging.getLogger("green_tg_async")
    log.addHandler(handler)
    try:
        log.warning("url %s", f"{PREFIX}/x/{API_TOKEN}")
    finally:
        log.removeHandler(handler)
    (record,) = handler.records
    assert API_TOKEN not in record.getMessage()
    assert record.args == (f"{PREFIX}/x/***",)
