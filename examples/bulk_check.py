"""A bulk-check service: read numbers from a CSV, write one result row per number.

Run the demo (the built-in fake, no account):
    python examples/bulk_check.py examples/numbers.csv results.csv
Against your instance (credentials from GREEN_API_ID_INSTANCE / GREEN_API_TOKEN;
the pause and the answer cache kept in bulk-check.sqlite3 between runs):
    python examples/bulk_check.py numbers.csv results.csv --live

For resuming a paused or killed run, `green-tg check-file --resume` does the same
job with more care; this shows the library calls it is built on.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
from collections import Counter
from pathlib import Path

from green_tg_async import (
    AccountCheck,
    AsyncGreenTelegram,
    CircuitOpenError,
    RateLimits,
)
from green_tg_async.stores import SqliteStore
from green_tg_async.testing import FakeGreenAPI

FIELDS = ("phone", "result", "chat_id", "detail")


def read_numbers(path: Path) -> list[str]:
    """The first column of every row, without a `phone` header."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        cells = [row[0].strip() for row in csv.reader(handle) if row]
    return [c for c in cells if c and c.lower() != "phone"]


def result_row(number: int | str, outcome: object) -> dict[str, str]:
    """One output row: found, missing, invalid, paused or error."""
    if isinstance(outcome, AccountCheck):
        result = "found" if outcome.exist else "missing"
        return {
            "phone": str(number),
            "result": result,
            "chat_id": outcome.chat_id or "",
        }
    if isinstance(outcome, ValueError):
        kind = "invalid"
    elif isinstance(outcome, CircuitOpenError):
        kind = "paused"
    else:
        kind = "error"
    return {"phone": str(number), "result": kind, "detail": str(outcome)}


async def check_csv(tg: AsyncGreenTelegram, source: Path, target: Path) -> Counter[str]:
    """Check every number of `source`, write `target` as answers arrive."""
    counts: Counter[str] = Counter()
    with target.open("w", newline="", encoding="utf-8") as handle:
        out = csv.DictWriter(handle, fieldnames=FIELDS)
        out.writeheader()
        numbers = read_numbers(source)
        async for number, outcome in tg.service.check_accounts(numbers, concurrency=4):
            row = result_row(number, outcome)
            out.writerow(row)
            handle.flush()  # a killed run keeps every row written so far
            counts[row["result"]] += 1
    return counts


async def main() -> None:
    """Parse the arguments and run one bulk check."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    parser.add_argument("--live", action="store_true", help="use your instance")
    args = parser.parse_args()
    if args.live:
        store = SqliteStore("bulk-check.sqlite3")
        tg = AsyncGreenTelegram(store=store)
    else:
        fake, store = FakeGreenAPI(rate_limits=False), None
        # The fake has no rates to respect; GREEN-API gets 1 check a second.
        tg = fake.client(limits=RateLimits(enabled=False))
    async with tg:
        counts = await check_csv(tg, args.source, args.target)
    if store is not None:
        await store.aclose()
    print(", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))


if __name__ == "__main__":
    asyncio.run(main())
