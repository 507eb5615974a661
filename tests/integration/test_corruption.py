"""A damaged index is caught, not served: every file of a build carries a checksum in the manifest; `rag index
verify` names the damaged file in one line; a server whose live build is damaged serves the previous build
kept on disk and says so on `/ready`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import SeedIndex

pytestmark = pytest.mark.slow


def damage(path: Path) -> None:
    """Flip 64 bytes in the middle of ``path``: same size, different content (what a bad disk does)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, min(middle + 64, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_verify_names_each_damaged_file_of_a_build(seed_index: SeedIndex, tmp_path: Path) -> None:
    work = seed_index.workdir.copy_to(tmp_path / "work")
    build = work.current_build()
    files = sorted(p for p in build.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert {"store.sqlite", "vectors.npy", "vectors.faiss"} <= {p.name for p in files}
    assert set(work.manifest()["artifacts"]) == {p.relative_to(build).as_posix() for p in files}
    for path in files:
        original = path.read_bytes()
        damage(path)
        result = work.rag("index", "verify", "--index", "index")
        rel = path.relative_to(build).as_posix()
        assert result.returncode == 1, result.describe()
        assert f"{rel}: checksum differs" in result.stderr and "Traceback" not in result.stderr, result.describe()
        path.write_bytes(original)
    result = work.rag("index", "verify", "--index", "index")
    assert result.returncode == 0, result.describe()


def test_a_damaged_live_build_is_not_served_the_previous_one_is(
    seed_index: SeedIndex, tmp_path: Path, rag_server: Callable[..., Any]
) -> None:
    work = seed_index.workdir.copy_to(tmp_path / "work")
    (work.path / "corpus" / "青山镇水利.txt").write_text("青山镇2023年新修水渠9公里。\n", encoding="utf-8")
    result = work.build()
    assert result.returncode == 0, result.describe()
    live = work.current_build()
    damage(live / "vectors.faiss")
    with rag_server(work.path) as server, server.client() as http:
        ready = http.get("/ready")
        assert ready.status_code == 200, ready.text
        info = ready.json()
        assert info["fallback"]["damaged_build"] == live.name and info["build"] != live.name, info
        assert "vectors.faiss" in info["fallback"]["reason"] and str(tmp_path) not in ready.text, info
        answer = http.post("/ask", json={"question": "恒口示范区新建标准化厂房多少平方米？"}).json()
        assert answer["grounded"] and answer["short_answer"] == "3.1万平方米", answer
