"""`green_tg_async.otel`: spans, metrics, and no token in any span attribute."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from green_tg_async import (
    AsyncGreenTelegram,
    BreakerPolicy,
    CircuitOpenError,
    ContactInfoLimitError,
    RateLimits,
    RetryPolicy,
)
from green_tg_async.hooks import Hook
from green_tg_async.otel import (
    OpenTelemetryHook,
    async_scrub_request_hook,
    scrub_url,
)
from green_tg_async.stores import MemoryStore
from green_tg_async.testing import FAKE_API_URL, FakeGreenAPI
from tests.helpers import FakeClock, RecordingSleep


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def hook(self) -> OpenTelemetryHook:
        return OpenTelemetryHook(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    def spans(self) -> tuple[ReadableSpan, ...]:
        return self.exporter.get_finished_spans()

    def metrics(self) -> dict[str, list[Any]]:
        data = self.reader.get_metrics_data()
        found: dict[str, list[Any]] = {}
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found[metric.name] = list(metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    telemetry = Telemetry()
    yield telemetry
    telemetry.tracer_provider.shutdown()
    telemetry.meter_provider.shutdown()


def _client(
    fake: FakeGreenAPI, *hooks: Hook, transport: Any = None
) -> AsyncGreenTelegram:
    return AsyncGreenTelegram(
        fake.id_instance,
        fake.api_token,
        api_url=FAKE_API_URL,
        transport=transport or fake.transport,
        store=MemoryStore(),
        limits=RateLimits(enabled=False),
        retry=RetryPolicy(sleep=RecordingSleep()),
        breaker=BreakerPolicy(clock=FakeClock()),
        hooks=list(hooks),
    )


async def test_one_span_per_call_with_retries_as_events(otel: Telemetry) -> None:
    fake = FakeGreenAPI(rate_limits=False)
    fake.fail_next(502)
    async with _client(fake, otel.hook()) as tg:
        await tg.account.get_state_instance()  # 502, then 200
        await tg.sending.send_message(1, "hi")
    state, sent = otel.spans()
    assert state.name == "green_api getStateInstance"
    assert sent.name == "green_api sendMessage"
    assert state.attributes is not None
    assert state.attributes["green_api.attempts"] == 2
    assert state.attributes["green_api.method"] == "getStateInstance"
    assert state.attributes["green_api.instance"] == fake.id_instance
    assert state.attributes["http.response.status_code"] == 200
    assert state.attributes["green_api.request_sent"] is True
    assert [e.name for e in state.events] == ["retry"]
    retry = dict(state.events[0].attributes or {})
    assert retry["green_api.attempt"] == 1
    assert retry["green_api.error"] == "ServerError"
    assert isinstance(retry["green_api.wait"], float)
    assert sent.attributes is not None
    assert sent.attributes["green_api.attempts"] == 1
    assert not sent.events


async def test_errors_breaker_and_metrics(otel: Telemetry) -> None:
    fake = FakeGreenAPI(rate_limits=False, lookup_limit=0)
    async with _client(fake, otel.hook()) as tg:
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79001234568)
        with pytest.raises(CircuitOpenError):
            await tg.sending.send_message(1, "not sent")
    lookup, refused = otel.spans()
    assert lookup.status.status_code is StatusCode.ERROR
    assert lookup.attributes is not None
    assert lookup.attributes["error.type"] == "ContactInfoLimitError"
    assert refused.attributes is not None
    assert refused.attributes["green_api.request_sent"] is False
    metrics = otel.metrics()
    calls = {
        (p.attributes["green_api.method"], p.attributes["green_api.outcome"]): p.value
        for p in metrics["green_api.calls"]
    }
    assert calls == {("checkAccount", "error"): 1, ("sendMessage", "error"): 1}
    errors = {p.attributes["error.type"]: p.value for p in metrics["green_api.errors"]}
    assert errors == {"ContactInfoLimitError": 1, "CircuitOpenError": 1}
    assert [p.value for p in metrics["green_api.breaker.open"]] == [1]


async def test_limiter_wait_histogram(otel: Telemetry) -> None:
    hook = otel.hook()
    fake = FakeGreenAPI(rate_limits=False)
    from green_tg_async.hooks import CallEvent

    event = CallEvent("limiter_wait", "1", "sendMessage", call_id=99, waited=0.25)
    hook.on_limiter_wait(event)
    hook.on_limiter_wait(event)
    hook.on_response(
        CallEvent("response", "1", "sendMessage", call_id=99, attempt=1, final=True)
    )
    (span,) = otel.spans()
    assert span.attributes is not None
    assert span.attributes["green_api.limiter_wait"] == 0.5
    (point,) = otel.metrics()["green_api.limiter.wait"]
    assert (point.count, point.sum) == (2, 0.5)
    assert "open_spans=0" in repr(hook)
    assert fake.requests == []


def test_scrub_url_replaces_the_token_only() -> None:
    api = "https://4100.api.green-api.com/waInstance4100000001/sendMessage/S3cr3t?x=1"
    assert scrub_url(api) == (
        "https://4100.api.green-api.com/waInstance4100000001/sendMessage/REDACTED?x=1"
    )
    media = "https://media/waInstance1/deleteNotification/S3cr3t/123"
    assert (
        scrub_url(media) == "https://media/waInstance1/deleteNotification/REDACTED/123"
    )
    partner = "https://api.green-api.com/partner/getInstances/PartnerT0ken"
    assert (
        scrub_url(partner) == "https://api.green-api.com/partner/getInstances/REDACTED"
    )
    assert scrub_url("https://example.com/a/b") == "https://example.com/a/b"


def _all_text(span: ReadableSpan) -> str:
    parts = [span.name, str(span.status.description)]
    parts += [f"{k}={v!s}" for k, v in (span.attributes or {}).items()]
    for event in span.events:
        parts.append(event.name)
        parts += [f"{k}={v!s}" for k, v in (event.attributes or {}).items()]
    return "\n".join(parts)


@pytest.mark.parametrize("scrubbed", [True, False])
async def test_no_span_attribute_holds_the_token_with_httpx_instrumented(
    otel: Telemetry, scrubbed: bool
) -> None:
    fake = FakeGreenAPI(rate_limits=False, lookup_limit=1, api_token="T0kenT0kenT0ken")
    instrumented = AsyncOpenTelemetryTransport(
        fake.transport,
        tracer_provider=otel.tracer_provider,
        request_hook=async_scrub_request_hook if scrubbed else None,
    )
    async with _client(fake, otel.hook(), transport=instrumented) as tg:
        await tg.account.get_state_instance()
        await tg.sending.send_message(1, "hello")
        fake.fail_next(401, json={"message": "bad token"})
        with pytest.raises(Exception, match="401"):
            await tg.account.get_state_instance()
        await tg.service.check_account(79001234568)
        with pytest.raises(ContactInfoLimitError):
            await tg.service.check_account(79001234570)
        with pytest.raises(CircuitOpenError):
            await tg.sending.send_message(1, "refused locally")
    spans = otel.spans()
    http_spans = [s for s in spans if not s.name.startswith("green_api")]
    assert len(http_spans) == 5  # the httpx instrumentation really ran
    leaks = [s.name for s in spans if fake.api_token in _all_text(s)]
    if scrubbed:
        assert leaks == []
    else:  # the control: without the hook, url.full carries the token
        assert leaks
        assert all(not name.startswith("green_api") for name in leaks)
