"""What this machine gives a process: the cores it may use, and the CPU model and flags speed figures depend on."""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path

# The instruction sets ONNX Runtime's int8 and bf16 kernels use when present: a speed figure means little
# without them (BENCHMARKS.md records them beside every figure).
SPEED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_int8", "amx_bf16")


def available_cpus() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota (a container's
    ``--cpus``) when one is set."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cores, quota)) if quota else max(1, cores)


def _cgroup_quota() -> int:
    """The cgroup v2 (``cpu.max``) or v1 (``cpu.cfs_quota_us``) CPU limit, rounded up; 0 when unlimited."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        return 0 if quota == "max" else math.ceil(int(quota) / int(period))
    except (OSError, ValueError):
        pass
    try:
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return math.ceil(quota_us / period_us) if quota_us > 0 and period_us > 0 else 0
    except (OSError, ValueError):
        return 0


def cpu_info() -> dict[str, object]:
    """The CPU model, the speed-relevant flags it has, and the cores available: what goes beside a figure."""
    model, flags = "", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():  # the first processor's block is enough
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not model:
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    model = model or platform.processor() or platform.machine()
    return {
        "model": model,
        "flags": [f for f in SPEED_FLAGS if f in flags],
        "cores": available_cpus(),
        "cpu_count": os.cpu_count(),
    }


def describe_cpu(info: dict[str, object] | None = None) -> str:
    """One line: ``Intel(R) Xeon(R) Processor, 2 cores, avx2 avx512f …``."""
    info = info or cpu_info()
    flags = " ".join(info["flags"]) if info["flags"] else "no AVX2"  # type: ignore[arg-type]
    return f"{info['model']}, {info['cores']} cores, {flags}"
