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
    kind: str = ""  # a dev set's class ("many_figures", "no_figure", …); "" when the set has none

    @property
    def answerable(self) -> bool:
        """Whether the question has a gold answer (else: unanswerable, or a no-figure question)."""
        return bool(self.answers)


def load_questions(dataset: Path, *, errors: list[str] | None = None) -> list[Question]:
    """Questions of a bench folder (``questions.jsonl``), of a TSV (``seeds_dev.tsv``: id, doc, question, answer;
    or id, question only: unanswerable questions) or of a JSONL file of questions over bench passages. A line
    that cannot be read is reported in ``errors`` (``line N: why``) and skipped; without ``errors`` it raises."""
    if dataset.is_file() and dataset.suffix == ".tsv":
        with open(dataset, encoding="utf-8") as fh:
            return [
                Question(
                    r["id"],
                    r["question"],
                    [r["answer"]] if r.get("answer") else [],
                    answer_groups=[[r["answer"]]] if r.get("answer") else [],
                    gold_prefix=r.get("doc") or None,
                )
                for r in csv.DictReader(fh, delimiter="\t")
            ]
    path = dataset if dataset.is_file() else dataset / "questions.jsonl"
    if not path.is_file():
        raise ConfigError(f"no questions.jsonl in {dataset}; give a bench folder such as ../shared/bench/rgb_zh")
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(_question_record(json.loads(line)))
            except (ValueError, KeyError, TypeError) as exc:
                why = f"line {n}: {exc.__class__.__name__}: {exc}"
                if errors is None:
                    raise ConfigError(f"{path} {why}") from exc
                errors.append(why)
    return out


def _question_record(r: dict[str, Any]) -> Question:
    answers = [str(a) for a in r["answers"]]
    return Question(
        str(r["id"]),
        r["question"],
        answers,
        gold_docs=set(r.get("passage_ids") or [r["passage_id"]]),
        answer_groups=r.get("answer_groups") or ([answers] if answers else []),
        answer_starts=list(r.get("answer_starts") or []),
        kind=str(r.get("class") or ""),
    )


def bench_corpus(questions_file: Path, bench_root: Path) -> list[Path]:
    """The passage files a questions-only JSONL refers to by its ``dataset`` field (``rgb_zh`` →
    ``<bench_root>/rgb_zh/passages.jsonl``)."""
    names: set[str] = set()
    with open(questions_file, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                names.add(str(json.loads(line).get("dataset") or ""))
    if "" in names:
        raise ConfigError(f'{questions_file}: every line needs a "dataset" (a folder of {bench_root})')
    paths = [bench_root / name / "passages.jsonl" for name in sorted(names)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise ConfigError(f"{questions_file} refers to passages that are not there: {missing}; see --bench-root")
    return paths


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


_FIGURE_SLACK = 4  # a short answer still "ok" when it holds the gold figure plus a qualifier or so


def short_answer_ok(short: str | None, answers: Sequence[str]) -> bool:
    """The short answer holds a gold answer whole (unit and all) and at most a few characters more."""
    if not short:
        return False
    s = normalize_answer(short)
    return any((g := normalize_answer(a)) and g in s and len(s) <= len(g) + _FIGURE_SLACK for a in answers)


@dataclass(slots=True)
class AnswerScores:
    """Accumulates what a user sees of the answers: right, wrong-but-grounded, refused, errors."""

    n: int = 0
    answerable: int = 0
    unanswerable: int = 0
    em: float = 0.0
    f1: float = 0.0
    short_em: int = 0
    short_ok: int = 0
    short_given: int = 0
    short_wrong: int = 0
    contained: int = 0
    answered: int = 0
    false_refusals: int = 0
    wrong_grounded: int = 0
    refused_unanswerable: int = 0
    errors: int = 0
    per_question: list[dict[str, Any]] = field(default_factory=list)

    def add(self, q: Question, result: dict[str, Any]) -> None:
        self.n += 1
        short = result.get("short_answer")
        grounded = bool(result["grounded"])
        self.answered += int(grounded)
        self.short_given += int(bool(short))
        record: dict[str, Any] = {"id": q.id, "question": q.question, "grounded": grounded, "short": short}
        if result.get("reader_probability") is not None:
            record["reader_probability"] = result["reader_probability"]
        if not q.answerable:  # unanswerable, or a passage that names the subject but gives no figure
            self.unanswerable += 1
            self.refused_unanswerable += int(not grounded)
            self.short_wrong += int(bool(short))
            record["right"] = not short
            self.per_question.append(record)
            return
        self.answerable += 1
        text = result["answer"] + (short or "")
        prediction = short or re.sub(r"\[\d+\]", "", result["answer"])
        q_em, q_f1 = cmrc_scores(prediction, q.answers)
        self.em, self.f1 = self.em + q_em, self.f1 + q_f1
        ok = short_answer_ok(short, q.answers)
        self.short_ok += int(ok)
        self.short_em += int(bool(short) and cmrc_scores(short or "", q.answers)[0] == 1.0)
        self.short_wrong += int(bool(short) and not ok)
        self.contained += int(contains_all(text, q.answer_groups))
        self.false_refusals += int(not grounded)
        wrong = grounded and not any(a in text for group in q.answer_groups for a in group)
        self.wrong_grounded += int(wrong)
        record |= {"gold": q.answers, "right": ok, "wrong_grounded": wrong}
        self.per_question.append(record)

    def error(self, q: Question, why: str) -> None:
        """A question that could not be asked: reported, and counted as not answered."""
        self.errors += 1
        self.n += 1
        if q.answerable:
            self.answerable += 1
            self.false_refusals += 1
        else:
            self.unanswerable += 1
        self.per_question.append({"id": q.id, "question": q.question, "error": why})

    def summary(self) -> dict[str, float]:
        a, u = max(self.answerable, 1), max(self.unanswerable, 1)
        out: dict[str, float] = {
            "em": round(100 * self.em / a, 2),
            "f1": round(100 * self.f1 / a, 2),
            "short_em": round(self.short_em / a, 4),
            "short_ok": round(self.short_ok / a, 4),
            "short_wrong": round(self.short_wrong / max(self.n, 1), 4),
            "containment": round(self.contained / a, 4),
            "answered": round(self.answered / max(self.n, 1), 4),
            "false_refusals": round(self.false_refusals / a, 4),
            "wrong_but_grounded": round(self.wrong_grounded / max(self.answered, 1), 4),
            "answerable": self.answerable,
        }
        if self.unanswerable:
            out["unanswerable"] = self.unanswerable
            out["refused_unanswerable"] = round(self.refused_unanswerable / u, 4)
        if self.errors:
            out["errors"] = self.errors
        return out


def evaluate(
    questions: Sequence[Question],
    *,
    retrieve: Callable[[str], R],
    doc_text: Callable[[str], str | None],
    ask: Callable[[str, R], dict[str, Any]] | None = None,
    progress: bool = False,
    details: bool = False,
) -> dict[str, Any]:
    """Ask every question; retrieval figures always, answer figures when ``ask`` is given. ``ask`` answers from
    what ``retrieve`` returned, so ``latency_ms.ask`` is the answer step alone. A question that fails (empty,
    too long…) is counted in ``errors`` with its reason and the run goes on."""
    from tqdm import tqdm

    from rag.errors import RAGError

    scores = RetrievalScores()
    answer_scores = AnswerScores()
    search_ms: list[float] = []
    ask_ms: list[float] = []
    for q in tqdm(questions, desc="questions", disable=not progress or None):
        try:
            t0 = time.perf_counter()
            retrieved = retrieve(q.question)
            search_ms.append((time.perf_counter() - t0) * 1000)
        except RAGError as exc:
            answer_scores.error(q, str(exc))
            continue
        scores.add(q, retrieved.hits, doc_text)
        if ask is None:
            continue
        t0 = time.perf_counter()
        result = ask(q.question, retrieved)  # answered from the passages just retrieved
        ask_ms.append((time.perf_counter() - t0) * 1000)
        answer_scores.add(q, result)
    report: dict[str, Any] = {"questions": len(questions), "retrieval": scores.summary()}
    report["latency_ms"] = {"search": percentiles(search_ms)}
    if answer_scores.errors:
        report["errors"] = [r for r in answer_scores.per_question if "error" in r]
    if ask is not None:
        report["answers"] = answer_scores.summary()
        report["latency_ms"]["ask"] = percentiles(ask_ms)
        if details:
            report["per_question"] = answer_scores.per_question
    return report
