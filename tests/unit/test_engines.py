"""Build engines: the local one embeds group by group with the build's embedder; Ray is imported only when
asked for, and its absence is an error that names the install command."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from rag.backends.hashing_embedder import HashingEmbedder
from rag.errors import BackendUnavailableError
from rag.indexing import engines


def test_the_local_engine_embeds_every_row_with_the_builds_embedder() -> None:
    texts = [f"第{i}段：全年完成投资{i}亿元。" for i in range(2500)]
    rows = list(range(0, 2500, 2))
    embedder = HashingEmbedder(dim=64)
    got = dict(
        (r, v)
        for group, vectors in engines.LocalEngine().embed(texts, rows, embedder)
        for r, v in zip(group, vectors, strict=True)
    )
    assert sorted(got) == rows
    assert np.allclose(got[1200], embedder.embed([texts[1200]])[0])
    assert engines.LocalEngine().token_lists() is None  # the lexical backend's own processes


def test_ray_is_not_imported_by_a_build_and_its_absence_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    code = "import sys, rag.cli, rag.indexing.build; assert 'ray' not in sys.modules, 'ray imported'"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(BackendUnavailableError, match=r"pip install -e '\.\[ray\]'"):
        engines.create_engine("ray", address=None, embedder_cfg={})
    with pytest.raises(BackendUnavailableError, match="unknown build engine"):
        engines.create_engine("spark", address=None, embedder_cfg={})


def test_embedding_actors_take_a_gpu_each_for_the_reference_model_and_cpus_for_int8() -> None:
    st = {"backend": "sentence-transformers", "model": "m3e-small", "device": "cpu"}
    onnx = {"backend": "onnx", "model": "m3e-small", "device": "cpu", "quantize": True}
    gpu_cluster = {"CPU": 32.0, "GPU": 4.0}
    plan = engines.plan_actors(st, gpu_cluster)
    assert (plan.num_gpus, plan.concurrency, plan.cfg["device"]) == (1, 4, "cuda")  # one actor per GPU, on it
    assert engines.plan_actors(st, gpu_cluster, workers=2).concurrency == 2
    assert engines.plan_actors({**st, "device": "cuda:1"}, gpu_cluster).cfg["device"] == "cuda:1"
    plan = engines.plan_actors(onnx, gpu_cluster)  # int8 ONNX Runtime kernels are CPU kernels
    assert (plan.num_gpus, plan.concurrency, plan.cfg) == (0, 32, onnx)
    plan = engines.plan_actors(st, {"CPU": 2.0})
    assert (plan.num_gpus, plan.concurrency, plan.cfg["device"]) == (0, 2, "cpu")
