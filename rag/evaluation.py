"""Benchmark scoring with the protocol of ``shared/bench/README.md``: retrieval hit@k/MRR, CMRC EM/F1, containment."""

from __future__ import annotations

import csv
import json
import re
import statistics
import string
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from rag.errors import ConfigError
from rag.types import Document, Hit

KS = (1, 5, 10)


@dataclass(slots=True)
class Question:
    """One benchmark question with what counts as relevant and as a right answer."""

    id: str
    question: str
    answers: list[str]
    gold_docs: set[str] = field(default_factory=set)
    answer_groups: list[list[str]] = field(default_factory=list)
    answer_starts: list[int] = field(default_factory=list)
    gold_prefix: str | None = None  # seeds: the corpus file prefix that holds the answer


def load_questions(dataset: Path) -> list[Question]:
    """Questions of a bench folder (``questions.jsonl``) or of ``seeds_dev.tsv``."""
    if dataset.is_file() and dataset.suffix == ".tsv":
        with open(dataset, encoding="utf-8") as fh:
            return [
                Question(r["id"], r["question"], [r["answer"]], answer_groups=[[r["answer"]]], gold_prefix=r["doc"])
                for r in csv.DictReader(fh, delimiter="\t")
            ]
    path = dataset / "questions.jsonl"
    if not path.is_file():
        raise ConfigError(f"no questions.jsonl in {dataset}; give a bench folder such as ../shared/bench/rgb_zh")
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            out.append(
                Question(
                    r["id"],
                    r["question"],
                    list(r["answers"]),
                    gold_docs=set(r.get("passage_ids") or [r["passage_id"]]),
                    answer_groups=r.get("answer_groups") or [list(r["answers"])],
                    answer_starts=list(r.get("answer_starts") or []),
                )
            )
    return out


class Retrieved(Protocol):
    """What a retrieval returns for scoring: its ranked hits (a search result, handed on to ``ask``)."""

    @property
    def hits(self) -> list[Hit]: ...


R = TypeVar("R", bound=Retrieved)


class _DocumentSource(Protocol):
    def document(self, doc_id: str) -> Document | None: ...


def cached_document_text(documents: _DocumentSource) -> Callable[[str], str | None]:
    """A memoised ``doc_id -> cleaned text`` lookup over a chunk store."""
    texts: dict[str, str | None] = {}

    def doc_text(doc_id: str) -> str | None:
        if doc_id not in texts:
            doc = documents.document(doc_id)
            texts[doc_id] = doc.text if doc else None
        return texts[doc_id]

    return doc_text


def is_relevant(q: Question, hit: Hit) -> bool:
    if q.gold_prefix is not None:
        return Path(hit.source).name.startswith(q.gold_prefix)
    return hit.chunk.doc_id in q.gold_docs


def answer_spans(q: Question, doc_text: str) -> list[tuple[int, int]]:
    """Answer spans in the cleaned document text: each answer's occurrence nearest its recorded start."""
    spans = []
    for i, ans in enumerate(q.answers):
        starts = [m.start() for m in re.finditer(re.escape(ans), doc_text)]
        if not starts:
            continue
        hint = q.answer_starts[i] if i < len(q.answer_starts) else 0
        s = min(starts, key=lambda x: abs(x - hint))
        spans.append((s, s + len(ans)))
    return spans


_PUNCT = set(string.punctuation) | {
    c for c in "，。！？、；：“”‘’（）《》〈〉【】『』「」﹃﹄〔〕…—～·．｀＂＇／＼［］｛｝＜＞｜＠＃＄％＾＆＊＋＝－＿"
}


def normalize_answer(text: str) -> str:
    """CMRC 2018 normalisation: lower case, no spaces, no punctuation."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(c for c in text if not c.isspace() and c not in _PUNCT)


def _lcs(a: str, b: str) -> int:
    best = 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def cmrc_scores(prediction: str, answers: Sequence[str]) -> tuple[float, float]:
    """(EM, F1) against the best of ``answers``, CMRC 2018 rule (F1 on the longest common substring)."""
    pred = normalize_answer(prediction)
    em, f1 = 0.0, 0.0
    for ans in answers:
        ref = normalize_answer(ans)
        em = max(em, float(pred == ref))
        common = _lcs(pred, ref)
        if common:
            p, r = common / len(pred), common / len(ref)
            f1 = max(f1, 2 * p * r / (p + r))
    return em, f1


def contains_all(text: str, groups: Iterable[Sequence[str]]) -> bool:
    """RGB rule: every answer group has one of its strings in ``text``."""
    return all(any(s in text for s in group) for group in groups)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    qs = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else [values[0]] * 99
    return {"p50": round(qs[49], 2), "p95": round(qs[94], 2), "p99": round(qs[98], 2)}


@dataclass(slots=True)
class RetrievalScores:
    """Accumulates hit@k, MRR@10 and (for CMRC) chunk-level hit@k."""

    n: int = 0
    hits: dict[int, int] = field(default_factory=lambda: dict.fromkeys(KS, 0))
    chunk_hits: dict[int, int] = field(default_factory=lambda: dict.fromkeys(KS, 0))
    chunk_level: bool = False
    rr: float = 0.0

    def add(self, q: Question, hits: Sequence[Hit], doc_text: Callable[[str], str | None]) -> None:
        self.n += 1
        relevant = [is_relevant(q, h) for h in hits[:10]]
        first = next((i for i, r in enumerate(relevant) if r), None)
        if first is not None:
            self.rr += 1 / (first + 1)
        for k in KS:
            self.hits[k] += int(any(relevant[:k]))
        if q.answer_starts:
            self.chunk_level = True
            overlap = []
            for h, rel in zip(hits[:10], relevant, strict=False):
                text = doc_text(h.chunk.doc_id) if rel else None
                spans = answer_spans(q, text) if text else []
                overlap.append(any(s < h.chunk.end and e > h.chunk.start for s, e in spans))
            for k in KS:
                self.chunk_hits[k] += int(any(overlap[:k]))

    def summary(self) -> dict[str, float]:
        n = max(self.n, 1)
        out = {f"hit@{k}": round(self.hits[k] / n, 4) for k in KS}
        out["mrr@10"] = round(self.rr / n, 4)
        if self.chunk_level:
            out.update({f"chunk_hit@{k}": round(self.chunk_hits[k] / n, 4) for k in KS})
        return out


def evaluate(
    questions: Sequence[Question],
    *,
    retrieve: Callable[[str], R],
    doc_text: Callable[[str], str | None],
    ask: Callable[[str, R], dict[str, Any]] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Ask every question; retrieval figures always, answer figures when ``ask`` is given. ``ask`` answers from
    what ``retrieve`` returned, so ``latency_ms.ask`` is the answer step alone."""
    from tqdm import tqdm

    scores = RetrievalScores()
    search_ms: list[float] = []
    ask_ms: list[float] = []
    em = f1 = 0.0
    contained = answered = 0
    for q in tqdm(questions, desc="questions", disable=not progress or None):
        t0 = time.perf_counter()
        retrieved = retrieve(q.question)
        search_ms.append((time.perf_counter() - t0) * 1000)
        scores.add(q, retrieved.hits, doc_text)
        if ask is None:
            continue
        t0 = time.perf_counter()
        result = ask(q.question, retrieved)  # answered from the passages just retrieved
        ask_ms.append((time.perf_counter() - t0) * 1000)
        answered += int(result["grounded"])
        prediction = result.get("short_answer") or re.sub(r"\[\d+\]", "", result["answer"])
        q_em, q_f1 = cmrc_scores(prediction, q.answers)
        em, f1 = em + q_em, f1 + q_f1
        contained += int(contains_all(result["answer"] + (result.get("short_answer") or ""), q.answer_groups))
    n = max(len(questions), 1)
    report: dict[str, Any] = {"questions": len(questions), "retrieval": scores.summary()}
    report["latency_ms"] = {"search": percentiles(search_ms)}
    if ask is not None:
        report["answers"] = {
            "em": round(100 * em / n, 2),
            "f1": round(100 * f1 / n, 2),
            "containment": round(contained / n, 4),
            "answered": round(answered / n, 4),
        }
        report["latency_ms"]["ask"] = percentiles(ask_ms)
    return report
