"""The ONNX export's helpers that need no model: the fusion fallback, the pruning of stale exports, batching."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

pytest.importorskip("onnxruntime")

from rag.backends.onnx_embedder import EXPORT_VERSION, fuse_onnx, prune_stale_exports
from rag.padding import right_padded, token_batches


def test_an_architecture_the_optimizer_does_not_know_stays_unfused(tmp_path: Path) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"not read")
    assert fuse_onnx(model, SimpleNamespace(model_type="gpt2")) == model


def test_a_failed_fusion_keeps_the_plain_export_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"this is not an ONNX file")
    config = SimpleNamespace(model_type="bert", num_attention_heads=8, hidden_size=512)
    with caplog.at_level(logging.WARNING, logger="rag.backends.onnx_embedder"):
        assert fuse_onnx(model, config) == model
    assert "fusion failed" in caplog.text
    assert not (tmp_path / "model.fused.onnx").exists()


def _export(cache: Path, key: str, **source: object) -> Path:
    folder = cache / key
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"x")
    (folder / "source.json").write_text(json.dumps(source), encoding="utf-8")
    return folder


def test_older_exports_of_the_same_model_and_precision_are_removed(tmp_path: Path) -> None:
    current = {"model": "m3e-small", "path": "/models/m3e", "quantized": True, "export_version": EXPORT_VERSION}
    keep = _export(tmp_path, "new", **current)
    stale = _export(tmp_path, "v1", model="m3e-small", path="/models/m3e", quantized=True)  # no version: v1
    fp32 = _export(tmp_path, "fp32", model="m3e-small", path="/models/m3e", quantized=False)
    other_model = _export(tmp_path, "bge", model="bge", path="/models/bge", quantized=True, export_version=1)
    unrelated = tmp_path / "notes"
    unrelated.mkdir()
    assert prune_stale_exports(tmp_path, current) == [stale]
    assert not stale.exists()
    assert keep.is_dir() and fp32.is_dir() and other_model.is_dir() and unrelated.is_dir()


def test_batches_hold_similar_lengths_within_the_token_budget() -> None:
    lengths = [300, 12, 40, 500, 41, 13, 200, 90, 800]
    batches = token_batches(lengths, tokens=400, size=32)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))  # every text once
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert len(batch) * longest <= 400 or len(batch) == 1  # a text over the budget goes alone
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(lengths)  # shortest first, so a batch's texts are neighbours in length
    assert [len(b) for b in batches] == [4, 2, 1, 1, 1]  # 12,13,40,41 | 90,200 | 300 | 500 | 800


def test_the_text_count_caps_a_batch_and_a_zero_budget_means_count_only() -> None:
    assert [len(b) for b in token_batches([5] * 10, tokens=1000, size=4)] == [4, 4, 2]
    assert [len(b) for b in token_batches([500] * 5, tokens=0, size=2)] == [2, 2, 1]
    assert token_batches([], tokens=1024, size=32) == []


def test_ties_in_length_are_broken_by_the_text_whatever_the_input_order() -> None:
    texts = ["丙", "甲", "乙", "丁"]
    forward = token_batches([1] * 4, tokens=2, size=32, keys=texts)
    assert [[texts[i] for i in b] for b in forward] == [sorted(texts)[:2], sorted(texts)[2:]]
    backward = token_batches([1] * 4, tokens=2, size=32, keys=texts[::-1])
    assert [[texts[::-1][i] for i in b] for b in backward] == [[texts[i] for i in b] for b in forward]


def test_rows_are_right_padded_with_zeros() -> None:
    assert right_padded([[5, 6, 7], [8]]).tolist() == [[5, 6, 7], [8, 0, 0]]
