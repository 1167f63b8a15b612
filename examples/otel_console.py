"""OpenTelemetry with console exporters: a span per call, the library's metrics.

Run (the built-in fake, no account, no collector):
    python examples/otel_console.py
It prints each span as JSON when it ends, then the metrics once, at shutdown.
In production, give `OpenTelemetryHook` your own providers (or set the global
ones) with an OTLP exporter instead of the console ones.
Needs opentelemetry-sdk (`pip install "green-tg-async[otel]" opentelemetry-sdk`).
"""

from __future__ import annotations

import asyncio

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from green_tg_async import GreenAPIError, RateLimits
from green_tg_async.otel import OpenTelemetryHook
from green_tg_async.testing import FakeGreenAPI


async def main() -> None:
    """Three calls through the hook: a check, a send, and a 400 from the fake."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    reader = PeriodicExportingMetricReader(
        ConsoleMetricExporter(), export_interval_millis=3_600_000
    )  # exports at shutdown below
    meter_provider = MeterProvider(metric_readers=[reader])
    hook = OpenTelemetryHook(
        tracer_provider=tracer_provider, meter_provider=meter_provider
    )

    fake = FakeGreenAPI(rate_limits=False)
    limits = RateLimits(enabled=False)  # the fake has no rates to respect
    async with fake.client(hooks=[hook], limits=limits) as tg:
        found = await tg.service.check_account(79876543210)
        await tg.sending.send_message(found.chat_id, "hello")
        fake.fail_next(400)
        try:
            await tg.sending.send_message(found.chat_id, "refused")
        except GreenAPIError as exc:
            print(f"# {type(exc).__name__}, recorded as error.type on its span")
    tracer_provider.shutdown()
    meter_provider.shutdown()  # the one metrics export


if __name__ == "__main__":
    asyncio.run(main())
