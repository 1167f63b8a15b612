"""OpenTelemetry for the client: a span per call and a few metrics (extra `otel`).

::

    from green_tg_async.otel import OpenTelemetryHook

    tg = AsyncGreenTelegram(hooks=[OpenTelemetryHook()])

Each call becomes one span, `green_api <method>`, with the instance, method,
attempts, final status, limiter wait and `request_sent`; each retry is a span
event. Metrics: `green_api.calls` and `green_api.errors` (by error class),
the histogram `green_api.limiter.wait` (seconds), the up/down counter
`green_api.breaker.open`, and `green_api.once` (keyed sends replayed from the
journal or settled, by `green_api.once.outcome`). Nothing here holds the
token, the URL or a body.

If you also run the httpx instrumentation, its spans record `url.full`, whose
path holds the token: pass `async_scrub_request_hook` (or, for the global
instrumentor, `scrub_request_hook` too) so it is replaced::

    HTTPXClientInstrumentor().instrument(
        request_hook=scrub_request_hook, async_request_hook=async_scrub_request_hook
    )
"""

from __future__ import annotations

import re
from typing import Any, Final

from ._version import __version__
from .hooks import CallEvent

try:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "green_tg_async.otel needs opentelemetry-api: "
        "pip install 'green-tg-async[otel]'"
    ) from exc

__all__ = [
    "OpenTelemetryHook",
    "async_scrub_request_hook",
    "scrub_request_hook",
    "scrub_url",
]

_TOKEN_IN_PATH: Final = re.compile(
    r"(/waInstance\d+/[A-Za-z]+/|/partner/[A-Za-z]+/)[^/?#]+"
)
REDACTED: Final = "REDACTED"
_URL_ATTRIBUTES: Final = ("url.full", "http.url")


def scrub_url(url: str) -> str:
    """`url` with the API or partner token in its path replaced by `REDACTED`."""
    return _TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", url)


def scrub_request_hook(span: Span, request: Any) -> None:
    """A request hook for the httpx instrumentation: scrub the span's URL."""
    if span.is_recording():
        url = scrub_url(str(request.url))
        for name in _URL_ATTRIBUTES:
            span.set_attribute(name, url)


async def async_scrub_request_hook(span: Span, request: Any) -> None:
    """`scrub_request_hook` for `AsyncClient`s."""
    scrub_request_hook(span, request)


class OpenTelemetryHook:
    """A client hook that traces calls and records metrics with OpenTelemetry.

    Uses the global tracer and meter providers unless given others.
    """

    def __init__(
        self, *, tracer_provider: Any = None, meter_provider: Any = None
    ) -> None:
        self._tracer = trace.get_tracer(__name__, __version__, tracer_provider)
        meter = metrics.get_meter(__name__, __version__, meter_provider)
        self._calls = meter.create_counter(
            "green_api.calls", unit="{call}", description="Calls that ended"
        )
        self._errors = meter.create_counter(
            "green_api.errors", unit="{call}", description="Calls that failed, by class"
        )
        self._wait = meter.create_histogram(
            "green_api.limiter.wait", unit="s", description="Time waited at the limiter"
        )
        self._open = meter.create_up_down_counter(
            "green_api.breaker.open", unit="{breaker}", description="Open breakers"
        )
        self._once = meter.create_counter(
            "green_api.once",
            unit="{send}",
            description="Keyed sends replayed from the journal or settled, by outcome",
        )
        self._spans: dict[int, tuple[Span, float]] = {}

    def _span(self, event: CallEvent) -> Span:
        known = self._spans.get(event.call_id)
        if known is not None:
            return known[0]
        span = self._tracer.start_span(
            f"green_api {event.method}",
            kind=SpanKind.CLIENT,
            attributes={
                "green_api.instance": event.id_instance,
                "green_api.method": event.method,
            },
        )
        self._spans[event.call_id] = (span, 0.0)
        return span

    def on_request(self, event: CallEvent) -> None:
        """Open the call's span (at its first attempt)."""
        self._span(event)

    def on_limiter_wait(self, event: CallEvent) -> None:
        """Add the wait to the span and the histogram."""
        span = self._span(event)
        waited = self._spans[event.call_id][1] + (event.waited or 0.0)
        self._spans[event.call_id] = (span, waited)
        span.set_attribute("green_api.limiter_wait", waited)
        self._wait.record(event.waited or 0.0, {"green_api.method": event.method})

    def on_retry(self, event: CallEvent) -> None:
        """Record the retry as a span event."""
        self._span(event).add_event(
            "retry",
            {
                "green_api.attempt": event.attempt,
                "green_api.error": event.error or "",
                "green_api.wait": event.waited or 0.0,
            },
        )

    def on_response(self, event: CallEvent) -> None:
        """Note the attempt; end the span and count the call at the last one."""
        span = self._span(event)
        span.set_attribute("green_api.attempts", event.attempt)
        span.set_attribute("green_api.request_sent", bool(event.request_sent))
        if event.status is not None:
            span.set_attribute("http.response.status_code", event.status)
        if not event.final:
            return
        self._spans.pop(event.call_id, None)
        labels = {"green_api.method": event.method}
        outcome = "error" if event.error else "ok"
        self._calls.add(1, {**labels, "green_api.outcome": outcome})
        if event.error:
            span.set_attribute("error.type", event.error)
            span.set_status(Status(StatusCode.ERROR, event.error))
            self._errors.add(1, {**labels, "error.type": event.error})
        span.end()

    def on_breaker(self, event: CallEvent) -> None:
        """Count breakers opening (+1) and closing (-1)."""
        change = {"open": 1, "closed": -1}.get(event.breaker_state or "")
        if change:
            self._open.add(change, {"green_api.instance": event.id_instance})

    def on_once(self, event: CallEvent) -> None:
        """Count a keyed send replayed, or settled (queue, journal, not sent, …)."""
        outcome = event.once or ""
        labels = {"green_api.method": event.method, "green_api.once.outcome": outcome}
        self._once.add(1, labels)

    def __repr__(self) -> str:
        return f"<OpenTelemetryHook open_spans={len(self._spans)}>"
