"""The build's batch steps: each takes data and returns data, so the same calls give the same results."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from rag.backends.hashing_embedder import HashingEmbedder
from rag.chunking import chunk_document
from rag.indexing import steps
from rag.indexing.vectors import VectorFile
from rag.loaders import discover_files
from rag.types import Document

TEXT = (
    "恒口示范区\n过去的一年,恒口示范区一般财政预算收入达到5341万元。新建标准化厂房3.1万平方米。"
    "培育五上企业5户。汉滨区完成了68个安置社区党组织建设。" * 6
)


def _doc(doc_id: str, text: str = TEXT, source: str = "corpus/a.txt") -> Document:
    return Document(
        id=doc_id,
        title=doc_id,
        text=text,
        source=source,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
    )


def test_chunk_step_on_a_toy_document() -> None:
    doc = _doc("a")
    chunking = {"size": 120, "overlap": 30, "min_size": 20}
    [item] = steps.chunk_batch([doc], chunking)
    assert item.document is doc and item.chunks == chunk_document(doc, **chunking)
    assert len(item.chunks) > 1 and all(doc.text[c.start : c.end] == c.text for c in item.chunks)
    assert steps.chunk_batch([doc], chunking) == [item]  # no state carried from one call to the next
    second = steps.chunk_batch([_doc("b", "衡水发展\n衡水湖蓄水量达到近20年最高水平。")], chunking)
    records = steps.document_records([item, *second], first_row=7)
    assert records["a"] == {
        "source": "corpus/a.txt",
        "content_hash": doc.content_hash,
        "chunks": len(item.chunks),
        "first_row": 7,
    }
    assert records["b"]["first_row"] == 7 + len(item.chunks) and list(records) == ["a", "b"]


def test_duplicates_are_dropped_against_earlier_files_and_the_batch() -> None:
    batch = [_doc("x"), _doc("y"), _doc("x")]
    kept = steps.drop_duplicates(batch, rel="corpus/b.jsonl", seen={"y": "corpus/a.jsonl"})
    assert [d.id for d in kept.documents] == ["x"]
    assert kept.failed == [
        ("corpus/b.jsonl", "duplicate document id 'y' (first seen in corpus/a.jsonl)"),
        ("corpus/b.jsonl", "duplicate document id 'x' (first seen in corpus/b.jsonl)"),
    ]


def test_batches_are_bounded_by_count_and_by_characters() -> None:
    docs = [_doc(str(i), "字" * 10) for i in range(7)]
    assert [len(b) for b in steps.batch_documents(docs, size=3)] == [3, 3, 1]
    assert [len(b) for b in steps.batch_documents(docs, size=100, chars=25)] == [3, 3, 1]
    assert [len(b) for b in steps.batch_documents(docs[:1], size=3, chars=5)] == [1]  # a long one goes alone
    assert list(steps.batch_documents([])) == []


def test_a_jsonl_file_loads_lazily_and_reports_its_bad_lines(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    lines = [
        json.dumps({"id": "r1", "text": "第一条。"}, ensure_ascii=False),
        "{bad",
        json.dumps({"id": "r2", "text": "第二条。"}),
    ]
    (root / "d.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    [src] = discover_files([root])
    loaded = steps.load_file(src)
    assert loaded.sha256 == hashlib.sha256((root / "d.jsonl").read_bytes()).hexdigest()
    assert loaded.bad_records == []  # nothing read yet
    assert [d.id for d in loaded.documents] == ["r1", "r2"]
    assert [str(e).split(": ", 1)[1] for e in loaded.bad_records] == [
        "invalid JSON (Expecting property name enclosed in double quotes at column 2)"
    ]
    record = steps.source_record(loaded, ["r1", "r2"])
    assert record == {"sha256": loaded.sha256, "size": (root / "d.jsonl").stat().st_size, "documents": ["r1", "r2"]}


def test_embed_and_write_steps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedder = HashingEmbedder(dim=16)
    texts = [f"第{i}段文字。" for i in range(10)]
    out = VectorFile.create(tmp_path / "vectors.npy", rows=10, dim=16)
    for rows in steps.embed_groups([0, 1, 2, 5, 7, 8], size=3):
        steps.write_vectors(out, rows, steps.embed_batch([texts[r] for r in rows], embedder))
    stored = out.read(0, 10)
    expected = embedder.embed(texts)
    for r in range(10):
        assert np.array_equal(stored[r], expected[r]) if r in (0, 1, 2, 5, 7, 8) else not stored[r].any()
    monkeypatch.setattr(steps, "VECTOR_SLICE", 2)  # copies cross slice boundaries
    copy = VectorFile.create(tmp_path / "copy.npy", rows=12, dim=16)
    steps.copy_vectors(out, copy, [(4, 0, 3), (0, 7, 2)])
    assert np.array_equal(copy.read(4, 7), stored[0:3]) and np.array_equal(copy.read(0, 2), stored[7:9])
