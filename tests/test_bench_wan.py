"""A smoke run of benchmarks/bench_wan.py: every call gets its answer.

Real processes (a TLS server, the latency proxy, a client) because they are
what the benchmark is made of; no figure is checked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_wan.py"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
def test_every_call_of_a_short_run_gets_its_answer() -> None:
    args = ["--runs", "1", "--levels", "2", "--calls", "8", "--rtt-ms", "2"]
    args += ["--clients", "raw aiohttp;ours, default", "--no-sdk", "--charge-connect"]
    done = subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(BENCH.parent.parent)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    # 8 timed calls each, every answer checked by the client before it counts.
    assert [row.split(" | ")[:3] for row in rows[1:]] == [
        ["| raw aiohttp", "2", "8"],
        ["| ours, default", "2", "8"],
    ]
