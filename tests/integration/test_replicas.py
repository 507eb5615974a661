"""Stateless serving replicas: two `rag serve` processes read one build from a shared index folder; while
clients ask both, a builder publishes a new build beside them (a sharded one, then one index again), and both
switch to each without a failed request;
the replicas are read-only (`RAG_API__READ_ONLY`) and refuse writes with the builder's address."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:
    from conftest import SeedIndex

pytestmark = pytest.mark.slow

QUESTION = "白石乡2022年修建山塘水库多少座？"


def test_two_replicas_swap_to_a_new_build_without_a_failed_request(
    seed_index: SeedIndex, tmp_path: Path, rag_server: Callable[..., Any]
) -> None:
    from conftest import Workdir

    work = seed_index.workdir.copy_to(tmp_path / "shared").path
    # Read-only API replicas; the builder below is the one writer.
    builder = "http://builder.internal:8000"
    env = {"RAG_UI__ENABLED": "false", "RAG_API__READ_ONLY": "true", "RAG_API__WRITER_URL": builder}
    with ExitStack() as stack:
        replicas = [stack.enter_context(rag_server(work, env, index=work / "index")) for _ in range(2)]
        clients = [stack.enter_context(r.client()) for r in replicas]
        before = {c.get("/ready").json()["build"] for c in clients}
        assert len(before) == 1
        failures: list[str] = []
        answered = [0]
        stop = threading.Event()

        def ask_forever(client: httpx.Client) -> None:
            while not stop.is_set():
                r = client.post("/ask", json={"question": QUESTION})
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text[:200]}")
                answered[0] += 1

        threads = [threading.Thread(target=ask_forever, args=(c,), daemon=True) for c in clients for _ in range(2)]
        for t in threads:
            t.start()
        fact = "白石乡水利建设情况\n\n白石乡2022年修建山塘水库共计23座，新增灌溉面积5400亩。\n"
        (work / "corpus" / "白石乡水利建设.txt").write_text(fact, encoding="utf-8")
        # The builder: `rag index build` beside the replicas, a sharded build first, then one index again (the
        # replicas let go of the sharded build while questions are still on it).
        for extra in (("--shards", "3"), ()):
            built = Workdir(work).build(*extra)
            assert built.returncode == 0, built.describe()
            deadline = time.monotonic() + 30
            while {c.get("/ready").json()["build"] for c in clients} & before:
                assert time.monotonic() < deadline, "a replica did not switch to the new build"
                time.sleep(0.3)
            before = {c.get("/ready").json()["build"] for c in clients}
            time.sleep(1)  # a few more questions on the new build
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert not failures, failures[:5]
        assert answered[0] > 10
        for client in clients:
            answer = client.post("/ask", json={"question": QUESTION}).json()
            assert answer["grounded"] and answer["short_answer"] == "23座", answer
        corpus = sorted(p.name for p in (work / "corpus").iterdir())
        upload = clients[0].post("/documents", files={"files": ("新.txt", "石泉县新建农村公路186公里。".encode())})
        assert upload.status_code == 403 and builder in upload.json()["detail"], upload.text
        removed = clients[1].delete("/documents/" + answer["citations"][0]["doc_id"])
        assert removed.status_code == 403 and "read-only" in removed.json()["detail"], removed.text
        assert sorted(p.name for p in (work / "corpus").iterdir()) == corpus  # nothing written by a replica
