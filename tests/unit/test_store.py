"""The chunk store: documents and chunks with their pages read back; a store still read after another process
pruned its build answers through the connection it keeps, and lets that go with the store."""

from __future__ import annotations

import gc
import os
import shutil
from pathlib import Path

from rag.index.store import ChunkStore, write_store
from rag.types import Chunk, Document, Page

TEXT = "第一页的内容。\n\n第二页的内容。"


def _build(path: Path) -> Path:
    path.mkdir()
    pages = (Page(1, 0, 7), Page(2, 9, 16, ocr=True))
    doc = Document("d1", "报告", TEXT, "corpus/报告.pdf", "h", pages=pages)
    chunks = [
        Chunk("d1:a", "d1", TEXT[:7], 0, 7, None, 0, (1,)),
        Chunk("d1:b", "d1", TEXT[9:], 9, 16, None, 1, (2,), True),
    ]
    write_store(path, [(doc, chunks)])
    return path


def test_pages_round_trip(tmp_path: Path) -> None:
    store = ChunkStore(_build(tmp_path / "b1"))
    doc = store.document("d1")
    assert doc is not None and doc.pages == (Page(1, 0, 7), Page(2, 9, 16, ocr=True))
    assert [(c.pages, c.ocr) for c in store.chunks([1, 0])] == [((2,), True), ((1,), False)]
    store.close()


def test_a_retired_store_whose_build_was_pruned_still_answers_then_closes_its_file(tmp_path: Path) -> None:
    build = _build(tmp_path / "b1")
    store = ChunkStore(build)
    store.close()  # replaced by a newer build: its idle connections are gone
    shutil.rmtree(build)  # and a `rag index build` beside the server pruned it
    assert [c.text for c in store.chunks([0])] == ["第一页的内容。"]  # a request still on it finishes
    assert store.count_chunks() == 2

    def open_stores() -> list[str]:
        links = []
        for fd in Path("/proc/self/fd").iterdir():
            try:
                links.append(os.readlink(fd))
            except OSError:  # closed while listing
                continue
        return [link for link in links if "b1/store.sqlite" in link]

    assert open_stores()
    del store
    gc.collect()
    assert not open_stores()  # the last reference gone, the deleted file is let go
