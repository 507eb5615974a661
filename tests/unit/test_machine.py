"""What the machine gives a process: cores (affinity, cgroup quota) and the CPU facts put beside speed figures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag import machine


def test_cores_follow_the_affinity_and_a_cgroup_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3})
    monkeypatch.setattr(machine, "_cgroup_quota", lambda: 0)
    assert machine.available_cpus() == 4
    monkeypatch.setattr(machine, "_cgroup_quota", lambda: 2)  # `docker run --cpus 1.5` rounds up to 2
    assert machine.available_cpus() == 2
    monkeypatch.setattr(machine, "_cgroup_quota", lambda: 16)  # a quota above the affinity does not add cores
    assert machine.available_cpus() == 4


def test_the_cgroup_v2_limit_is_read_and_rounded_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"/sys/fs/cgroup/cpu.max": "150000 100000\n"}
    real_read = Path.read_text

    def read_text(self: Path, *args: object, **kwargs: object) -> str:
        if str(self) in files:
            return files[str(self)]
        if str(self).startswith("/sys/fs/cgroup"):
            raise FileNotFoundError(str(self))
        return real_read(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", read_text)
    assert machine._cgroup_quota() == 2
    files["/sys/fs/cgroup/cpu.max"] = "max 100000\n"
    assert machine._cgroup_quota() == 0


def test_cpu_info_names_the_model_and_only_the_flags_this_cpu_has() -> None:
    info = machine.cpu_info()
    flags_line = next(
        (line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")), "flags :"
    )
    present = set(flags_line.partition(":")[2].split())
    assert info["flags"] == [f for f in machine.SPEED_FLAGS if f in present]
    assert info["model"] and info["cores"] == machine.available_cpus()
    assert str(info["model"]) in machine.describe_cpu(info)
