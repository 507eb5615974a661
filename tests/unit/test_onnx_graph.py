"""Skip layer-norms split into Add + LayerNormalization: same outputs, and sessions that do not fuse them again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

from rag.backends.onnx_graph import SLOW_FUSIONS, cpu_session, unfuse_file, unfuse_skip_layer_norm  # noqa: E402

HIDDEN = 16


def _model(*, bias: bool = True, beta: bool = True, opset: int = 17, sum_output: bool = False) -> onnx.ModelProto:
    rng = np.random.default_rng(3)
    inits = [
        helper.make_tensor("gamma", TensorProto.FLOAT, [HIDDEN], rng.standard_normal(HIDDEN).astype(np.float32)),
        helper.make_tensor("beta", TensorProto.FLOAT, [HIDDEN], rng.standard_normal(HIDDEN).astype(np.float32)),
        helper.make_tensor("bias", TensorProto.FLOAT, [HIDDEN], rng.standard_normal(HIDDEN).astype(np.float32)),
    ]
    inputs = ["x", "skip", "gamma", "beta" if beta else "", "bias" if bias else ""]
    outputs = ["y", "", "", "sum"] if sum_output else ["y"]
    node = helper.make_node(
        "SkipLayerNormalization", inputs, outputs, domain="com.microsoft", epsilon=1e-12, name="sln"
    )
    # A second op reads the result, as the next layer does in a BERT graph.
    after = helper.make_node("Mul", ["y", "y"], ["out"], name="after")
    shape = [2, 5, HIDDEN]
    graph = helper.make_graph(
        [node, after],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n in ("x", "skip")],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, shape)]
        + ([helper.make_tensor_value_info("sum", TensorProto.FLOAT, shape)] if sum_output else []),
        inits,
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid("com.microsoft", 1)]
    )


def _run(model: onnx.ModelProto, feed: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"], disabled_optimizers=list(SLOW_FUSIONS)
    )
    return list(session.run(None, feed))


@pytest.mark.parametrize(
    ("bias", "beta", "sum_output"), [(True, True, False), (False, True, False), (True, False, True)]
)
def test_unfused_graph_computes_the_same(bias: bool, beta: bool, sum_output: bool) -> None:
    rng = np.random.default_rng(7)
    feed = {n: rng.standard_normal((2, 5, HIDDEN)).astype(np.float32) * 3 for n in ("x", "skip")}
    fused = _model(bias=bias, beta=beta, sum_output=sum_output)
    expected = _run(fused, feed)
    unfused = _model(bias=bias, beta=beta, sum_output=sum_output)
    assert unfuse_skip_layer_norm(unfused) == 1
    ops = [n.op_type for n in unfused.graph.node]
    assert "SkipLayerNormalization" not in ops
    assert ops.count("LayerNormalization") == 1
    assert ops.count("Add") == (2 if bias else 1)
    got = _run(unfused, feed)
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_sessions_do_not_fuse_the_parts_again(tmp_path: Path) -> None:
    """ONNX Runtime's own optimizer would turn Add + LayerNormalization back into the slow op."""
    model = _model()
    unfuse_skip_layer_norm(model)
    path = tmp_path / "m.onnx"
    onnx.save(model, str(path))
    # Extended, the level of the transformer fusions (all would also apply layout changes, and warn so)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "default.onnx")
    ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    refused = ort.SessionOptions()
    refused.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    refused.optimized_model_filepath = str(tmp_path / "ours.onnx")
    ort.InferenceSession(str(path), refused, providers=["CPUExecutionProvider"], disabled_optimizers=list(SLOW_FUSIONS))
    default_ops = {n.op_type for n in onnx.load(str(tmp_path / "default.onnx")).graph.node}
    our_ops = {n.op_type for n in onnx.load(str(tmp_path / "ours.onnx")).graph.node}
    assert "SkipLayerNormalization" in default_ops  # the fusion this guards against exists under this name
    assert "SkipLayerNormalization" not in our_ops
    session = cpu_session(path, threads=1)
    feed = {n: np.ones((2, 5, HIDDEN), dtype=np.float32) for n in ("x", "skip")}
    assert session.run(None, feed)[0].shape == (2, 5, HIDDEN)


def test_unfuse_file_rewrites_only_what_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    onnx.save(_model(), str(path))
    assert unfuse_file(path) == 1
    assert unfuse_file(path) == 0  # nothing left to split
    assert "SkipLayerNormalization" not in {n.op_type for n in onnx.load(str(path)).graph.node}


def test_refuses_what_it_cannot_express() -> None:
    with pytest.raises(ValueError, match="opset 16"):
        unfuse_skip_layer_norm(_model(opset=16))
    model = _model()
    model.graph.node[0].output[:] = ["y", "mean", "", ""]
    with pytest.raises(ValueError, match="mean or deviation"):
        unfuse_skip_layer_norm(model)
