"""Idle CPU of `rag serve` (UI mounted): start it over an index, wait until it is ready and has settled, then
print the share of one core its process used over a quiet window (psutil: user + system time).

    python scripts/measure_idle_cpu.py [--index index] [--settle 10] [--seconds 30]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import psutil

from rag.tools.server import running_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=Path("index"))
    parser.add_argument("--settle", type=float, default=10.0, help="seconds to wait after /ready")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the measured idle window")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    with tempfile.TemporaryDirectory() as logs, running_server(args.index, log_dir=Path(logs), env=env) as srv:
        process = psutil.Process(srv.proc.pid)
        time.sleep(args.settle)
        before, t0 = process.cpu_times(), time.monotonic()
        switches0 = process.num_ctx_switches()
        time.sleep(args.seconds)
        after, elapsed = process.cpu_times(), time.monotonic() - t0
        switches1 = process.num_ctx_switches()
        used = (after.user - before.user) + (after.system - before.system)
        wakeups = (switches1.voluntary - switches0.voluntary) / elapsed
        print(
            f"idle `rag serve` (UI mounted): {100 * used / elapsed:.2f} % of one core over {elapsed:.0f} s, "
            f"{wakeups:.0f} voluntary context switches/s"
        )


if __name__ == "__main__":
    main()
