"""Faults an operator meets: the disk filling up during a build, the server killed during an upload, a store
file damaged while it is being served. Each leaves the live index serving (or says plainly why it cannot),
the corpus as it was, and a retry that is safe."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import SeedIndex

pytestmark = pytest.mark.slow

KEY = "fault-key"
SEED_QUESTION = "恒口示范区新建标准化厂房多少平方米？"
SEED_ANSWER = "3.1万平方米"


def long_report(paragraphs: int, *, place: str = "青山镇") -> str:
    """Report prose of distinct sentences (no two chunks alike), ``paragraphs`` paragraphs long."""
    lines = [
        f"{place}第{i}号水渠全长{i % 97 + 3}公里，灌溉农田{i * 7 % 1000 + 100}亩，惠及农户{i * 13 % 500 + 20}户。"
        f"第{i}期工程投资{i % 50 + 1}万元，由{place}{i % 12 + 1}村组织实施。"
        for i in range(paragraphs)
    ]
    return "\n\n".join(lines) + "\n"


@contextmanager
def small_disk(path: Path, *, free_bytes: int) -> Iterator[None]:
    """Mount a tmpfs over ``path`` holding what ``path`` held, with only ``free_bytes`` left free."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    held = Path(f"{path}.held")
    path.rename(held)
    path.mkdir()
    used = sum(p.stat().st_size for p in held.rglob("*") if p.is_file())
    size_kb = (used + free_bytes) // 1024 + 64  # file system bookkeeping
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)], check=True)
    try:
        shutil.copytree(held, path, dirs_exist_ok=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
        path.rmdir()
        held.rename(path)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_full_disk_fails_the_build_cleanly_and_the_old_index_keeps_serving(
    seed_index: SeedIndex, tmp_path: Path, rag_server: Callable[..., Any]
) -> None:
    work = seed_index.workdir.copy_to(tmp_path / "work")
    live = work.current_build().name
    big = long_report(6000)  # ~0.5 M characters: its store alone is bigger than the free space
    with (
        small_disk(work.index / "builds", free_bytes=256 * 1024),
        rag_server(work.path, {"RAG_API__KEY": KEY}) as server,
        server.client() as http,
    ):
        before = tree(work.corpus)
        (work.corpus / "青山镇水利.txt").write_text(big, encoding="utf-8")
        result = work.build()
        assert result.returncode == 1, result.describe()
        assert "disk under index/ is full" in result.stderr and "Traceback" not in result.stderr, result.describe()
        leftovers = [p.name for p in (work.index / "builds").iterdir() if p.name.startswith(".tmp-")]
        assert not leftovers, f"the failed build left {leftovers} behind"
        assert work.current_build().name == live
        (work.corpus / "青山镇水利.txt").unlink()

        # An upload that needs the same space: 507, and the corpus is as it was.
        response = http.post(
            "/documents",
            headers={"X-API-Key": KEY},
            files={"files": ("青山镇水利.txt", big.encode(), "text/plain")},
        )
        assert response.status_code == 507, response.text
        assert "disk under index/ is full" in response.json()["detail"], response.text
        assert tree(work.corpus) == before, "a failed upload changed the corpus"

        ready = http.get("/ready")
        assert ready.status_code == 200 and ready.json()["build"] == live, ready.text
        answer = http.post("/ask", json={"question": SEED_QUESTION}).json()
        assert answer["grounded"] and answer["short_answer"] == SEED_ANSWER, answer
        assert not [p for p in (work.index / "builds").iterdir() if p.name.startswith(".tmp-")]


def damage(path: Path) -> None:
    """Flip 64 bytes in the middle of ``path``: same size, different content (what a bad disk does)."""
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def wait_for(check: Callable[[], bool], *, timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_a_store_damaged_while_serving_turns_ready_to_503_until_a_new_build(
    seed_index: SeedIndex, tmp_path: Path, rag_server: Callable[..., Any]
) -> None:
    work = seed_index.workdir.copy_to(tmp_path / "work")
    with rag_server(work.path) as server, server.client() as http:
        assert http.post("/ask", json={"question": SEED_QUESTION}).json()["short_answer"] == SEED_ANSWER
        damaged = work.current_build()
        damage(damaged / "store.sqlite")
        ready = http.get("/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "damaged", ready.text
        assert "store.sqlite" in ready.json()["detail"] and str(tmp_path) not in ready.text, ready.text
        for _ in range(3):  # every question gets the same 503, never a 500 from a store that cannot be read
            response = http.post("/ask", json={"question": SEED_QUESTION})
            assert response.status_code == 503 and "rag index verify" in response.json()["detail"], response.text
        assert http.get("/documents").status_code == 503

        result = work.build("--rebuild")
        assert result.returncode == 0, result.describe()
        assert wait_for(lambda: http.get("/ready").status_code == 200), http.get("/ready").text
        assert http.get("/ready").json()["build"] != damaged.name
        answer = http.post("/ask", json={"question": SEED_QUESTION}).json()
        assert answer["grounded"] and answer["short_answer"] == SEED_ANSWER, answer


def open_files(pid: int) -> list[str]:
    """What the process's file descriptors point at (Linux /proc)."""
    out = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            out.append(os.readlink(fd))
        except OSError:  # closed while listing
            continue
    return out


def test_replaced_builds_hold_no_sqlite_file_open(
    seed_server: Callable[..., Any],
) -> None:
    with (
        seed_server("handles", {"RAG_API__KEY": KEY, "RAG_INDEX__KEEP_BUILDS": "1"}) as server,
        server.client() as http,
    ):
        for i in range(3):  # each upload publishes a build and prunes the one before
            text = f"青山镇{i + 1}号水渠全长{i + 5}公里。\n"
            files = {"files": (f"水渠{i}.txt", text.encode(), "text/plain")}
            response = http.post("/documents", headers={"X-API-Key": KEY}, files=files)
            assert response.status_code == 201, response.text
            assert http.post("/ask", json={"question": SEED_QUESTION}).status_code == 200
        live = (server.work / "index" / "CURRENT").read_text(encoding="utf-8").strip()
        stores = [f for f in open_files(server.proc.pid) if f.endswith("store.sqlite") or "(deleted)" in f]
        assert stores and all(f"/builds/{live}/" in f and "(deleted)" not in f for f in stores), stores


def test_a_server_killed_during_an_upload_leaves_no_file_half_there_and_the_retry_is_safe(
    seed_index: SeedIndex, tmp_path: Path, rag_server: Callable[..., Any]
) -> None:
    work = seed_index.workdir.copy_to(tmp_path / "work")
    before = tree(work.corpus)
    seed_file = sorted(work.corpus.glob("000_*.txt"))[0].name
    files = [
        ("files", ("青山镇水利.txt", long_report(1500).encode(), "text/plain")),  # new: a build of some seconds
        ("files", (seed_file, long_report(300, place="恒口镇").encode(), "text/plain")),  # replaces a seed report
    ]
    headers = {"X-API-Key": KEY}
    with rag_server(work.path, {"RAG_API__KEY": KEY}) as server:
        outcome: list[Any] = []

        def upload() -> None:
            try:
                outcome.append(httpx.post(f"{server.url}/documents", headers=headers, files=files, timeout=120))
            except httpx.TransportError as exc:
                outcome.append(exc)

        thread = threading.Thread(target=upload)
        thread.start()
        # Killed once both files are in place and the build that would index them is running.
        assert wait_for(lambda: (work.corpus / "青山镇水利.txt").exists(), timeout_s=60), "the upload never began"
        server.proc.kill()
        thread.join(30)
        assert isinstance(outcome[0], httpx.TransportError), f"the upload finished before the kill: {outcome}"
        assert tree(work.corpus) != before, "the kill should have caught the upload half done"

    with rag_server(work.path, {"RAG_API__KEY": KEY}) as server, server.client() as http:
        assert tree(work.corpus) == before, "a killed upload left files in the corpus"
        assert "upload" in server.log.read_text(encoding="utf-8") and "recovered" in server.log.read_text()
        answer = http.post("/ask", json={"question": SEED_QUESTION}).json()
        assert answer["grounded"] and answer["short_answer"] == SEED_ANSWER, answer

        retry = http.post("/documents", headers=headers, files=files, timeout=300)
        assert retry.status_code == 201, retry.text
        assert [f["status"] for f in retry.json()["files"]] == ["added", "replaced"], retry.text
        sources = {d["source"]: d["chunks"] for d in http.get("/documents", params={"limit": 100}).json()["documents"]}
        assert sources["corpus/青山镇水利.txt"] > 10 and f"corpus/{seed_file}" in sources, sources
        assert tree(work.corpus) == {**before, "青山镇水利.txt": files[0][1][1], seed_file: files[1][1][1]}
        answer = http.post("/ask", json={"question": "青山镇第7号水渠全长多少公里？"}).json()
        assert answer["grounded"] and answer["short_answer"] == "10公里", answer  # not the 7公里 of 第1168号


def test_no_server_path_shows_in_answers_errors_or_status(seed_server: Callable[..., Any]) -> None:
    env = {"RAG_API__KEY": KEY, "RAG_INDEX__CORPUS": '["{work}/corpus"]'}
    with seed_server("paths", env, absolute=True) as server, server.client() as http:
        root = str(server.work)
        seen = [
            http.get("/ready"),
            http.get("/metrics"),
            http.post("/ask", json={"question": SEED_QUESTION}),
            http.post("/ask", json={"question": SEED_QUESTION, "stream": True}),
            http.get("/documents"),
            http.get("/documents/nope"),
            http.post("/documents", headers={"X-API-Key": KEY}, files={"files": ("空.txt", b"", "text/plain")}),
            http.post("/documents", headers={"X-API-Key": KEY}, files={"files": ("坏.docx", b"PK\x03\x04x", "x")}),
            http.post("/documents", headers={"X-API-Key": KEY}, files={"files": ("a.exe", b"MZ", "x")}),
            http.delete("/documents/nope", headers={"X-API-Key": KEY}),
        ]
        (server.work / "index" / "CURRENT").write_text("gone\n", encoding="utf-8")  # a pointer to no build
        seen += [http.get("/ready"), http.post("/ask", json={"question": SEED_QUESTION})]
        leaks = [(r.request.method, r.request.url.path, r.status_code, r.text[:300]) for r in seen if root in r.text]
        assert not leaks, leaks
        assert all(r.status_code < 500 or r.status_code == 503 for r in seen), [(r.url, r.status_code) for r in seen]
