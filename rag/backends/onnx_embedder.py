"""Dense embeddings with ONNX Runtime: the sentence-transformers model exported once with ``torch.onnx.export``,
its BERT subgraphs fused by ONNX Runtime's transformer optimizer, quantised to int8 (dynamic, per channel) with
``onnxruntime.quantization``, cached beside the index."""

from __future__ import annotations

import gc
import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.backends.onnx_graph import cpu_session, unfuse_skip_layer_norm
from rag.errors import BackendUnavailableError, ConfigError
from rag.machine import available_cpus
from rag.models import resolve_model
from rag.padding import right_padded, token_batches

if TYPE_CHECKING:
    from rag.protocols import FloatArray

EXPORT_VERSION = 4  # bump when the export or quantisation recipe changes: cached files are then remade

log = logging.getLogger(__name__)

# Architectures whose attention, embedding and layer-norm subgraphs onnxruntime.transformers knows how to fuse.
_FUSABLE = {"bert": "bert", "roberta": "bert", "xlm-roberta": "bert", "ernie": "bert", "electra": "bert"}


def _model_key(path: Path, *, quantize: bool) -> str:
    """Identifies the source model by content (config, tokenizer and weight files), the precision and the
    export recipe: the same model found at another path, or by another index, shares one export."""
    digest = hashlib.sha256(f"v{EXPORT_VERSION}:{'int8' if quantize else 'fp32'}".encode())
    for item in sorted(path.iterdir()):
        if item.name in ("config.json", "tokenizer.json", "tokenizer_config.json") or item.suffix in (
            ".bin",
            ".safetensors",
        ):
            digest.update(item.name.encode())
            with open(item, "rb") as fh:
                while block := fh.read(1 << 20):
                    digest.update(block)
    return digest.hexdigest()[:16]


def export_onnx(model_dir: Path, out: Path, *, quantize: bool = True) -> None:
    """Export the transformer with mean pooling to ``out`` (fp32, then int8 when ``quantize``), atomically."""
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise BackendUnavailableError(
            f"the first use of {model_dir.name} exports it to ONNX, which needs torch and transformers "
            f"({exc.name} is missing): `pip install -e '.[torch]'` (CPU torch: `pip install torch==2.13.0` first), "
            "or copy a cached export into RAG_EMBEDDER__CACHE_DIR"
        ) from exc

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    # Eager attention exports as the plain MatMul/Softmax pattern that the optimizer fuses into one Attention
    # op (the SDPA export is not recognised); the numbers are the same.
    model = AutoModel.from_pretrained(str(model_dir), attn_implementation="eager").eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)

    sample = tokenizer(["样例文本", "另一个较长一些的样例文本"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    export_model(
        MeanPooled(),
        tuple(sample[n] for n in names),
        out,
        config=model.config,
        input_names=names,
        output_names=["embedding"],
        dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "embedding": {0: "batch"}},
        quantize=quantize,
    )


def export_model(
    module: Any,
    inputs: tuple[Any, ...],
    out: Path,
    *,
    config: Any,
    input_names: list[str],
    output_names: list[str],
    dynamic_axes: dict[str, dict[int, str]],
    quantize: bool,
    # Only the matrix products by default: for the embedder an int8 embedding table saves memory but no time
    # and costs some fidelity.
    quantize_ops: tuple[str, ...] = ("MatMul", "Attention"),
) -> None:
    """``torch.onnx.export`` a transformer module, fuse its layers, make it int8 when ``quantize``, and put
    the result at ``out`` atomically (the embedder's export and the reader's)."""
    import torch

    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        fp32 = Path(tmp) / "model.onnx"
        # The TorchScript exporter is deprecated in favour of torch.export, which needs onnxscript; its tracer
        # warnings (and the deprecation notice) are expected here and say nothing about the result.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                inputs,
                str(fp32),
                input_names=input_names,
                output_names=output_names,
                dynamic_axes=dynamic_axes,
                opset_version=17,
                dynamo=False,
            )
        final = fuse_onnx(fp32, config)
        if quantize:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            source, final = final, Path(tmp) / "model.int8.onnx"
            # Per-channel weights keep cosine ≥ 0.99 to the original; reduce_range avoids the int8 overflow
            # of CPUs without VNNI, which otherwise wrecks per-channel results. The fused ops come from
            # com.microsoft, whose outputs ONNX shape inference cannot type: they are float.
            quantize_dynamic(
                str(source),
                str(final),
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=True,
                op_types_to_quantize=list(quantize_ops),
                extra_options={"DefaultTensorType": 1},  # onnx.TensorProto.FLOAT
            )
        os.replace(final, out)


def fuse_onnx(path: Path, config: Any) -> Path:
    """Fuse attention, embedding layer-norm and GELU into ONNX Runtime's contrib ops (about 1.2× faster in fp32
    and in int8 on the CPU); the skip layer-norms it fuses too are split back into their two ops, which run
    faster (``rag.backends.onnx_graph``). Architectures the optimizer does not know stay unfused."""
    kind = _FUSABLE.get(getattr(config, "model_type", ""))
    if kind is None:
        return path
    from onnxruntime.transformers import optimizer

    fused = path.with_name("model.fused.onnx")
    # A failing optimizer leaves its scratch TemporaryDirectory to be removed when its traceback goes, with a
    # ResourceWarning: let that happen here, quietly, rather than at some later garbage collection.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            model = optimizer.optimize_model(
                str(path),
                model_type=kind,
                num_heads=config.num_attention_heads,
                hidden_size=config.hidden_size,
                opt_level=1,
            )
            unfuse_skip_layer_norm(model.model)
            model.save_model_to_file(str(fused))
        except Exception as exc:  # the unfused export is correct, only slower: keep it and say so
            log.warning("ONNX fusion failed for this model (%s); using the unfused export", str(exc))
            model = None
            gc.collect()
    if model is None:
        return path
    log.info("fused ONNX operators: %s", {k: v for k, v in model.get_fused_operator_statistics().items() if v})
    return fused


def prune_stale_exports(cache_dir: Path, source: dict[str, Any]) -> list[Path]:
    """Delete the exports of the same model and precision made by an older recipe (an upgrade otherwise leaves
    ~100 MB behind each time); exports of other models, or of this recipe, stay. Returns what was removed."""
    removed = []
    for folder in sorted(cache_dir.iterdir()):
        try:
            other = json.loads((folder / "source.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not an export of ours, or one being written
        if not isinstance(other, dict) or other.get("export_version") == source["export_version"]:
            continue
        if other.get("path") == source["path"] and other.get("quantized") == source["quantized"]:
            shutil.rmtree(folder, ignore_errors=True)
            log.info("removed %s, an export of %s by an older recipe", folder, source["model"])
            removed.append(folder)
    return removed


FIDELITY_FILE = "fidelity.json"  # beside an export: how close its vectors came to the original model's


def _read_fidelity(folder: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((folder / FIDELITY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def export_folder(model: str, cache_dir: Path, *, quantize: bool = True) -> Path | None:
    """Where the export of ``model`` is (or would be) cached, keyed by its content: None for a model that is
    not a local folder. Hashes the model's weights: call it once."""
    path = Path(resolve_model(model))
    return Path(cache_dir) / _model_key(path, quantize=quantize) if path.is_dir() else None


def read_fidelity(folder: Path | None) -> dict[str, Any] | None:
    """The fidelity check recorded in an export folder (``export_folder``), or None when there is none yet."""
    return _read_fidelity(folder) if folder is not None else None


def recorded_fidelity(model: str, cache_dir: Path, *, quantize: bool = True) -> dict[str, Any] | None:
    """The fidelity check recorded beside the cached export of ``model`` (None when there is none yet)."""
    return read_fidelity(export_folder(model, cache_dir, quantize=quantize))


class OnnxEmbedder:
    """The same model as ``SentenceTransformerEmbedder``, run by ONNX Runtime (int8 by default)."""

    backend = "onnx"

    def __init__(
        self,
        model: str,
        *,
        cache_dir: Path,
        quantize: bool = True,
        batch_size: int = 32,
        batch_tokens: int = 1024,
        max_length: int = 512,
        query_prefix: str = "",
        threads: int = 0,
    ) -> None:
        try:
            import onnxruntime  # noqa: F401  (checked here, so the error names the extra to install)
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise BackendUnavailableError(
                f"the onnx embedder needs onnxruntime ({exc.name}); install it with `pip install -e '.[onnx]'`"
            ) from exc
        self.name = model
        self.batch_size = batch_size
        self.batch_tokens = batch_tokens
        self.query_prefix = query_prefix
        self.quantize = quantize
        path = Path(resolve_model(model))
        if not path.is_dir():
            raise ConfigError(f"the onnx embedder needs a local model folder; {model!r} is not one")
        onnx_file = Path(cache_dir) / _model_key(path, quantize=quantize) / "model.onnx"
        if not onnx_file.is_file():
            export_onnx(path, onnx_file, quantize=quantize)
            source = {"model": model, "path": str(path), "quantized": quantize, "export_version": EXPORT_VERSION}
            tmp = onnx_file.parent / f".source.{os.getpid()}.json"
            tmp.write_text(json.dumps(source), encoding="utf-8")
            os.replace(tmp, onnx_file.parent / "source.json")  # written whole: another process may read it
            prune_stale_exports(Path(cache_dir), source)
        # ONNX Runtime's own default is the physical cores it sees, which in a container may be more than the
        # process is given (affinity, CPU quota): oversubscribed threads only slow it down.
        self.model_file = onnx_file  # the exported (and quantised) model this embedder runs
        self._session: Any = cpu_session(onnx_file, threads=threads or available_cpus())
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer: Any = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=max_length)
        self._tokenizer.no_padding()  # each batch is padded to its own longest text (`_run`)
        self.dim = int(self._run(self._tokenizer.encode_batch(["维度"])).shape[1])

    def fidelity(self) -> dict[str, Any] | None:
        """The fidelity check recorded for this export (``rag.indexing.steps.measure_fidelity``), or None."""
        return _read_fidelity(self.model_file.parent)  # the export's own folder: no second hash of the model

    def record_fidelity(self, record: dict[str, Any]) -> None:
        """Keep the check beside the export (written whole): every later build of this model reuses it."""
        tmp = self.model_file.parent / f".{FIDELITY_FILE}.{os.getpid()}"
        tmp.write_text(json.dumps(record, indent=2), encoding="utf-8")
        os.replace(tmp, self.model_file.parent / FIDELITY_FILE)

    def _run(self, encodings: Sequence[Any]) -> FloatArray:
        """The unit vectors of one batch of tokenised texts, padded to the longest of them."""
        feed = {
            "input_ids": right_padded([e.ids for e in encodings]),
            "attention_mask": right_padded([e.attention_mask for e in encodings]),
            "token_type_ids": right_padded([e.type_ids for e in encodings]),
        }
        out = self._session.run(None, {k: v for k, v in feed.items() if k in self._inputs})[0]
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        vectors: FloatArray = (out / np.maximum(norms, 1e-12)).astype(np.float32)
        return vectors

    def embed(self, texts: Sequence[str], *, is_query: bool = False, show_progress: bool = False) -> FloatArray:
        """Encode ``texts``, returned in the given order: tokenised once, sorted by length and cut into batches
        of at most ``batch_tokens`` padded tokens (and ``batch_size`` texts). Small batches of similar length
        waste little on padding and keep the attention's working set in cache: on the machines measured,
        1,024 tokens a batch embedded RGB passages 1.3-1.5x faster than 32 texts a batch (BENCHMARKS.md)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        items = [self.query_prefix + t for t in texts] if is_query and self.query_prefix else list(texts)
        encodings = self._tokenizer.encode_batch(items)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        lengths = [len(e.ids) for e in encodings]
        # Ties in length are broken by the text, so that a text's batch mates (which the int8 activations'
        # scale depends on, slightly) do not depend on the order the texts came in.
        for rows in token_batches(lengths, tokens=self.batch_tokens, size=self.batch_size, keys=items):
            out[rows] = self._run([encodings[i] for i in rows])
        return out
