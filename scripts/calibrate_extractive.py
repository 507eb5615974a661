"""Calibrate the extractive backend's refusal threshold: refusal rate on unanswerable questions against
false refusals, containment and short-answer accuracy (and CMRC EM/F1) on answerable ones, per ``min_support``.

    python scripts/calibrate_extractive.py --index index --answerable ../shared/bench/seeds_dev.tsv \
        --unanswerable tests/fixtures/unanswerable_seeds.tsv
"""

from __future__ import annotations

import argparse
import csv
import pickle
import random
import re
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.backends.extractive import ExtractiveGenerator
from rag.questions import analyse_question
from rag.tools.evaluation import Question, cmrc_scores, contains_all, is_relevant, load_questions
from rag.types import Draft, Hit

MARKER = re.compile(r"\s*\[\d+\]")


@dataclass(slots=True)
class Outcome:
    """One question run with ``min_support=0``: the support of its best sentence and what was answered."""

    support: float
    answer: str
    short: str | None
    cited_relevant: bool
    ms: float


def run(gen: ExtractiveGenerator, question: str, hits: Sequence[Hit], q: Question | None) -> Outcome:
    t0 = time.perf_counter()
    chosen = gen.choose(question, analyse_question(question), hits)
    stream = gen.generate(question, hits)
    pieces: list[str] = []
    while True:
        try:
            pieces.append(next(stream))
        except StopIteration as stop:
            draft: Draft = stop.value
            break
    ms = (time.perf_counter() - t0) * 1000
    cited = [int(n) for n in re.findall(r"\[(\d+)\]", "".join(pieces))]
    relevant = q is not None and any(is_relevant(q, hits[n - 1]) for n in cited if 1 <= n <= len(hits))
    support = chosen[0].support if chosen else 0.0
    return Outcome(support, "".join(pieces), draft.short_answer, relevant, ms)


def load_unanswerable(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [row["question"] for row in csv.DictReader(fh, delimiter="\t")]


def search_all(index: Path, questions: list[str], top_k: int, cache: Path | None) -> list[list[Hit]]:
    """Top-k hits per question (from ``cache`` when it holds exactly these questions)."""
    if cache and cache.exists():
        stored: dict[str, list[Hit]] = pickle.loads(cache.read_bytes())
        if all(q in stored for q in questions):
            return [stored[q] for q in questions]
    from rag.pipeline import build_pipeline
    from rag.settings import Settings

    pipeline = build_pipeline(Settings(), index_dir=index)
    found = [pipeline.search(q, top_k=top_k).hits for q in questions]
    pipeline.close()
    if cache:
        cache.write_bytes(pickle.dumps(dict(zip(questions, found, strict=True))))
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--answerable", type=Path, required=True, help="seeds_dev.tsv or a bench folder")
    ap.add_argument("--unanswerable", type=Path, required=True, help="TSV with id and question columns")
    ap.add_argument("--sample", type=int, default=0, help="answerable questions to sample (0: all)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--thresholds", default="0.3,0.35,0.4,0.45,0.5,0.55,0.6,0.65,0.7,0.75,0.8")
    ap.add_argument("--cache", type=Path, default=None, help="pickle of retrieved hits, reused across runs")
    ap.add_argument("--show", action="store_true", help="print every answer")
    args = ap.parse_args(argv)

    answerable = load_questions(args.answerable)
    if args.sample and args.sample < len(answerable):
        answerable = random.Random(args.seed).sample(answerable, args.sample)
    unanswerable = load_unanswerable(args.unanswerable)
    questions = [q.question for q in answerable] + unanswerable
    hits = search_all(args.index, questions, args.top_k, args.cache)

    gen = ExtractiveGenerator(min_support=0.0)
    ans = [run(gen, q.question, h, q) for q, h in zip(answerable, hits, strict=False)]
    una = [run(gen, q, h, None) for q, h in zip(unanswerable, hits[len(answerable) :], strict=True)]
    if args.show:
        for q, o in zip(answerable, ans, strict=True):
            ok = contains_all(o.answer, q.answer_groups)
            print(f"A {q.id} sup={o.support:.2f} ok={ok:d} short={o.short!r} gold={q.answers[0]!r} | {q.question}")
            print(f"    {o.answer[:160]}")
        for text, o in zip(unanswerable, una, strict=True):
            print(f"U sup={o.support:.2f} short={o.short!r} | {text}\n    {o.answer[:160]}")

    cmrc = any(q.answer_starts for q in answerable)
    print(
        f"answerable: {len(answerable)} from {args.answerable}; unanswerable: {len(unanswerable)} from "
        f"{args.unanswerable}; top_k={args.top_k}; generate p50 {statistics.median(o.ms for o in ans + una):.1f} ms"
    )
    head = "min_support  refused_unans  false_refusal  contained  short_ok  cited_gold"
    print(head + ("  cmrc_EM  cmrc_F1" if cmrc else ""))
    for t in (float(x) for x in args.thresholds.split(",")):
        refused = sum(o.support < t for o in una) / max(1, len(una))
        kept = [(q, o) for q, o in zip(answerable, ans, strict=True) if o.support >= t]
        n = max(1, len(answerable))
        contained = sum(contains_all(o.answer, q.answer_groups) for q, o in kept) / n
        short_ok = sum(o.short is not None and contains_all(o.short, q.answer_groups) for q, o in kept) / n
        cited = sum(o.cited_relevant for _, o in kept) / n
        line = (
            f"{t:11.2f}  {refused:13.3f}  {1 - len(kept) / n:13.3f}  {contained:9.3f}  {short_ok:8.3f}  {cited:10.3f}"
        )
        if cmrc:
            scores = [cmrc_scores(o.short or MARKER.sub("", o.answer), q.answers) for q, o in kept]
            line += f"  {sum(s[0] for s in scores) / n:7.3f}  {sum(s[1] for s in scores) / n:7.3f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
