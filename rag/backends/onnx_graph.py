"""ONNX Runtime sessions for the exported models (embedder and reader), and the one graph edit that makes
them faster: skip layer-norms split back into an addition and a plain layer-norm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# ONNX Runtime's CPU SkipLayerNormalization kernel (1.32) takes about ten times as long as Add followed by its
# LayerNormalization kernel: 0.67 against 0.07 ms for 256 rows of 512, one thread, on the Intel Xeon of
# BENCHMARKS.md ("Skip layer-norms unfused"), a quarter of a 256-token reader window. Exports keep the two
# ops apart (``unfuse_skip_layer_norm``) and sessions do not fuse them again.
SLOW_FUSIONS = ("SkipLayerNormFusion",)
_MS_DOMAIN = "com.microsoft"


def cpu_session(model: str | Path, *, threads: int) -> Any:
    """An ONNX Runtime CPU session of ``model`` on ``threads`` intra-op threads, one inter-op thread."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(
        str(model), options, providers=["CPUExecutionProvider"], disabled_optimizers=list(SLOW_FUSIONS)
    )


def unfuse_skip_layer_norm(model: Any) -> int:
    """Replace each ``SkipLayerNormalization(x, skip, gamma[, beta[, bias]])`` of the ONNX ``model`` (in place)
    by ``LayerNormalization(x + skip [+ bias], gamma[, beta])``, the same function; returns how many. The
    optional outputs (mean, inverse deviation) are not used by the optimizer's BERT graphs; the sum output
    is kept when one is named."""
    from onnx import helper

    nodes = []
    count = 0
    for node in model.graph.node:
        if node.op_type != "SkipLayerNormalization" or node.domain != _MS_DOMAIN:
            nodes.append(node)
            continue
        if any(node.output[1:3]):
            raise ValueError(f"{node.name}: a skip layer-norm whose mean or deviation output is used")
        count += 1
        x, skip, gamma, beta, bias = [*node.input, "", ""][:5]
        name = node.name or f"skip_layer_norm_{count}"
        total = f"{name}/sum"
        if bias:
            # the residual last, as in the fused kernel and the unfused graph: (x + bias) + skip
            nodes.append(helper.make_node("Add", [x, bias], [f"{total}/biased"], name=f"{name}/add_bias"))
            nodes.append(helper.make_node("Add", [f"{total}/biased", skip], [total], name=f"{name}/add"))
        else:
            nodes.append(helper.make_node("Add", [x, skip], [total], name=f"{name}/add"))
        epsilon = [a.f for a in node.attribute if a.name == "epsilon"]
        nodes.append(
            helper.make_node(
                "LayerNormalization",
                [total, gamma] + ([beta] if beta else []),
                [node.output[0]],
                name=f"{name}/layer_norm",
                axis=-1,
                **({"epsilon": epsilon[0]} if epsilon else {}),
            )
        )
        if len(node.output) > 3 and node.output[3]:
            nodes.append(helper.make_node("Identity", [total], [node.output[3]], name=f"{name}/sum_out"))
    if count:
        _require_opset(model, 17)  # LayerNormalization is an ONNX op from opset 17
        del model.graph.node[:]
        model.graph.node.extend(nodes)
    return count


def _require_opset(model: Any, version: int) -> None:
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version < version:
            raise ValueError(f"the model's ONNX opset {opset.version} has no LayerNormalization (needs {version})")


def unfuse_file(path: Path) -> int:
    """``unfuse_skip_layer_norm`` on the model file at ``path``, rewritten in place when anything changed."""
    import onnx

    model = onnx.load(str(path))
    count = unfuse_skip_layer_norm(model)
    if count:
        onnx.save(model, str(path))
    return count
