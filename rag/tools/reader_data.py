"""The reader's training data: SQuAD-style questions (CMRC 2018, DRCD) loaded, split by article, and turned
into training windows (answer windows, sampled no-answer windows, sibling-paragraph negatives)."""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.backends.onnx_reader import Window, passage_windows, question_ids

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Example:
    """One extractive question: its passage, the first gold answer with its offset, and every gold answer."""

    qid: str
    question: str
    context: str
    answer: str
    start: int
    answers: tuple[str, ...]
    group: str  # passages of one article share a group, so a split never puts one article on both sides
    source: str


@dataclass(frozen=True, slots=True)
class TrainConfig:
    max_length: int = 256
    stride: int = 96
    max_question: int = 48
    max_answer: int = 40
    epochs: float = 2.0
    batch_size: int = 32
    learning_rate: float = 1e-4
    warmup: float = 0.1
    weight_decay: float = 0.01
    negative_rate: float = 0.3  # windows without the answer kept for training, as a share of all such windows
    sibling_negatives: float = 0.3  # questions that also read another paragraph of their article (no answer)
    dev_percent: int = 10
    seed: int = 13
    bf16: bool = True
    limit: int = 0  # use only the first N training examples (0: all); for smoke runs


def load_examples(folder: Path) -> list[Example]:
    """SQuAD-style ``passages.jsonl`` + ``questions.jsonl`` with ``answer_starts``; questions whose first
    answer does not sit at its offset are skipped (and counted in the log)."""
    passages: dict[str, str] = {}
    with (folder / "passages.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                passages[str(rec["id"])] = str(rec["text"])
    out: list[Example] = []
    skipped = 0
    with (folder / "questions.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            rec = json.loads(line)
            pid = str(rec.get("passage_id", ""))
            context = passages.get(pid)
            answers = [str(a) for a in rec.get("answers") or []]
            starts = rec.get("answer_starts") or []
            if context is None or not answers or not starts or not str(rec.get("question", "")).strip():
                skipped += 1
                continue
            answer, start = answers[0], int(starts[0])
            if context[start : start + len(answer)] != answer:
                found = context.find(answer)
                if found < 0:
                    skipped += 1
                    continue
                start = found
            group = pid.rsplit("-", 1)[0] if pid.startswith("drcd") else pid
            out.append(
                Example(
                    str(rec["id"]),
                    str(rec["question"]).strip(),
                    context,
                    answer,
                    start,
                    tuple(answers),
                    f"{folder.name}:{group}",
                    folder.name,
                )
            )
    if skipped:
        log.info("%s: %d questions without a usable answer offset skipped", folder, skipped)
    return out


def split_examples(examples: Sequence[Example], dev_percent: int) -> tuple[list[Example], list[Example]]:
    """A stable split by article (hash of the group), the same on every machine and run."""
    train: list[Example] = []
    dev: list[Example] = []
    for ex in examples:
        bucket = int(hashlib.sha256(ex.group.encode()).hexdigest()[:8], 16) % 100
        (dev if bucket < dev_percent else train).append(ex)
    return train, dev


@dataclass(frozen=True, slots=True)
class Feature:
    window: Window
    start: int  # token position of the answer start (0, the [CLS], when the window does not hold it)
    end: int


def training_features(
    examples: Sequence[Example], tokenizer: Any, cfg: TrainConfig, rng: random.Random
) -> list[Feature]:
    """Every window that holds the answer, a sample of those that do not (labelled no-answer, at ``[CLS]``),
    and for some questions a window of another paragraph of the same article: the hard negatives a reader
    meets among retrieved passages."""
    by_group: dict[str, list[str]] = {}
    for ex in examples:
        texts = by_group.setdefault(ex.group, [])
        if ex.context not in texts:
            texts.append(ex.context)
    out: list[Feature] = []
    for ex in examples:
        q = question_ids(tokenizer, ex.question, max_question=cfg.max_question)
        for w in passage_windows(q, tokenizer, ex.context, max_length=cfg.max_length, stride=cfg.stride):
            pos = w.position_of(ex.start, ex.start + len(ex.answer))
            if pos is not None:
                out.append(Feature(w, *pos))
            elif rng.random() < cfg.negative_rate:
                out.append(Feature(w, 0, 0))
        siblings = [t for t in by_group[ex.group] if t != ex.context and ex.answer not in t]
        if siblings and rng.random() < cfg.sibling_negatives:
            ws = passage_windows(q, tokenizer, rng.choice(siblings), max_length=cfg.max_length, stride=cfg.stride)
            if ws:
                out.append(Feature(rng.choice(ws), 0, 0))
    return out


def batches(features: list[Feature], batch_size: int, rng: random.Random) -> Iterator[list[Feature]]:
    """Shuffled, then length-bucketed inside blocks of 50 batches, so padding is small and order still random."""
    order = features[:]
    rng.shuffle(order)
    block = batch_size * 50
    batches: list[list[Feature]] = []
    for i in range(0, len(order), block):
        chunk = sorted(order[i : i + block], key=lambda f: len(f.window.input_ids))
        batches.extend(chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    yield from batches
