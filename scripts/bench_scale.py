"""How build time, memory, disk and search latency grow with the corpus: 10k, 100k, 1M chunks.

For each size, a synthetic Chinese report corpus is generated deterministically from the seed corpus's sentences
(figures, years and place names swapped at random), indexed by the project's own ``build_index`` in a fresh
subprocess (so its peak RSS is that build's alone), then searched in another subprocess through
``build_pipeline(...).search`` (dense FAISS + BM25 + fusion + re-ranking), with recall@10 of the FAISS index
measured against exact brute-force inner product over ``vectors.npy``.

Vectors come from the project's ``hashing`` embedder (character uni/bigrams hashed into 512 buckets, the
dimension of m3e-small) because the real model embeds ~20 chunks/s here (1M chunks would take 14 hours); the
embedder used is a memoising subclass that gives identical vectors about 20× faster.

    python scripts/bench_scale.py --sizes 10000,100000,1000000 --json scale.json
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SEED_CORPUS = ROOT / "corpus"
DIM = 512  # m3e-small's dimension
DOCS_PER_SHARD = 20_000  # the JSONL loader reads a file whole: shards keep one file's text small
PLACES = """恒口示范区 汉滨区 安康市 海陵区 泰州市 衡水市 宝鸡市 汉中市 商洛市 渭南市 咸阳市 铜川市 延安市 榆林市
    扬州市 南通市 盐城市 徐州市 常州市 无锡市 镇江市 宿迁市 保定市 邯郸市 邢台市 沧州市 廊坊市 唐山市 张家口市
    承德市 秦皇岛市 姜堰区 高港区 兴化市 靖江市 泰兴市 旬阳市 平利县 紫阳县 岚皋县 石泉县 宁陕县 白河县 镇坪县
    冀州区 枣强县 武邑县 深州市 安平县 故城县 景县 阜城县 饶阳县 武强县""".split()
SEED_PLACES = sorted(
    "恒口示范区 恒口 示范区 安康市 安康 海陵区 海陵 泰州市 泰州 衡水市 衡水 汉滨区 汉滨".split(), key=len, reverse=True
)
_SENTENCE_RE = re.compile(r"[^。！？；!?;\n]+[。！？；!?;]?")
_YEAR_RE = re.compile(r"(?:19|20)\d\d(?=年)")
_NUMBER_RE = re.compile(r"\d+(?:\.\d+)?")
_PLACE_RE = re.compile("|".join(SEED_PLACES))
_FIGURE_SPLIT_RE = re.compile(r"\d")


# --------------------------------------------------------------------------------------------- corpus


def seed_sentences() -> list[str]:
    """Sentences of the seed reports (8–150 characters, mostly Chinese), in file order."""
    out: list[str] = []
    for path in sorted(SEED_CORPUS.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for sentence in _SENTENCE_RE.findall(line.strip()):
                s = sentence.strip()
                cjk = sum("\u4e00" <= c <= "\u9fff" for c in s)
                if 8 <= len(s) <= 150 and cjk >= 0.6 * len(s):
                    out.append(s)
    return out


def _vary(sentence: str, rng: random.Random, place: str) -> str:
    sentence = _YEAR_RE.sub(lambda _: str(rng.randint(2012, 2024)), sentence)

    def number(m: re.Match[str]) -> str:
        text = m.group()
        if len(text) == 4 and text[:2] in ("19", "20") and "." not in text:
            return text  # a year already drawn
        whole, _, frac = text.partition(".")
        first = str(rng.randint(1, 9)) if len(whole) > 1 or whole != "0" else "0"
        digits = first + "".join(str(rng.randint(0, 9)) for _ in range(len(whole) - 1))
        return digits + ("." + "".join(str(rng.randint(0, 9)) for _ in frac) if frac else "")

    sentence = _NUMBER_RE.sub(number, sentence)
    return _PLACE_RE.sub(place, sentence)


def synthetic_document(n: int, sentences: Sequence[str], rng: random.Random) -> dict[str, str]:
    """One report-like document of 600–1,500 characters (about 2–6 chunks of 300)."""
    place = rng.choice(PLACES)
    target = rng.randint(600, 1500)
    paragraphs: list[str] = []
    para: list[str] = []
    length = 0
    while length < target:
        s = _vary(rng.choice(sentences), rng, place)
        para.append(s)
        length += len(s)
        if len(para) >= rng.randint(3, 5):
            paragraphs.append("".join(para))
            para = []
    if para:
        paragraphs.append("".join(para))
    headline = _vary(rng.choice(sentences), rng, place).rstrip("。！？；!?;")[:24]
    return {"id": f"syn{n:07d}", "title": f"{place}：{headline}", "text": "\n".join(paragraphs)}


def question_for(doc: dict[str, str], rng: random.Random) -> str:
    """A question a reader might ask of ``doc``: the words before a figure + 多少, else a 如何 question."""
    place = doc["title"].split("：", 1)[0]
    sentences = [s for s in _SENTENCE_RE.findall(doc["text"]) if len(s) >= 12]
    with_figure = [s for s in sentences if _FIGURE_SPLIT_RE.search(s[6:])]
    if with_figure:
        s = rng.choice(with_figure)
        head = s[: _FIGURE_SPLIT_RE.search(s).start()]  # type: ignore[union-attr]
        head = head.split("，")[-1].split(",")[-1] if len(head) > 24 else head
        if len(head) >= 4:
            return (head if place in head else place + head) + "多少？"
    s = rng.choice(sentences) if sentences else doc["title"]
    return f"{place}如何{s[:16].strip('，,。')}？"


def chunks_per_document(sentences: Sequence[str], seed: int) -> float:
    """The mean chunk count of synthetic documents under the default chunking (measured on a sample)."""
    from rag.chunking import chunk_document
    from rag.loaders.cleaning import build_document
    from rag.settings import ChunkingSettings

    rng = random.Random(seed + 1)
    params = ChunkingSettings().model_dump()
    counts = []
    for n in range(400):
        rec = synthetic_document(n, sentences, rng)
        doc = build_document(
            rec["text"], doc_id=rec["id"], source="x", name="x", fallback_title="x", title=rec["title"]
        )
        counts.append(len(chunk_document(doc, **params)))
    return sum(counts) / len(counts)


def generate_corpus(chunks: int, out: Path, *, seed: int, questions: int) -> dict[str, Any]:
    """JSONL shards under ``out/corpus`` holding about ``chunks`` chunks, and ``out/questions.jsonl``."""
    stamp = out / "corpus.json"
    if stamp.is_file():
        info: dict[str, Any] = json.loads(stamp.read_text())
        if info.get("target_chunks") == chunks and info.get("seed") == seed:
            return info
    shutil.rmtree(out, ignore_errors=True)
    (out / "corpus").mkdir(parents=True)
    sentences = seed_sentences()
    per_doc = chunks_per_document(sentences, seed)
    n_docs = max(1, math.ceil(chunks / per_doc))
    rng = random.Random(seed)
    ask_every = max(1, n_docs // questions)
    asked: list[dict[str, str]] = []
    characters = 0
    t0 = time.perf_counter()
    for shard in range(0, n_docs, DOCS_PER_SHARD):
        with open(out / "corpus" / f"shard-{shard // DOCS_PER_SHARD:04d}.jsonl", "w", encoding="utf-8") as fh:
            for n in range(shard, min(n_docs, shard + DOCS_PER_SHARD)):
                doc = synthetic_document(n, sentences, rng)
                characters += len(doc["text"])
                fh.write(json.dumps(doc, ensure_ascii=False) + "\n")
                if n % ask_every == 0 and len(asked) < questions:
                    asked.append({"id": doc["id"], "question": question_for(doc, rng)})
    with open(out / "questions.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(q, ensure_ascii=False) + "\n" for q in asked)
    info = {
        "target_chunks": chunks,
        "seed": seed,
        "documents": n_docs,
        "characters": characters,
        "seed_sentences": len(sentences),
        "chunks_per_document_estimate": round(per_doc, 3),
        "questions": len(asked),
        "seconds": round(time.perf_counter() - t0, 1),
        "bytes": sum(p.stat().st_size for p in (out / "corpus").iterdir()),
    }
    stamp.write_text(json.dumps(info, indent=2))
    return info


# --------------------------------------------------------------------------------------------- embedder


def fast_hashing_embedder(dim: int = DIM) -> Any:
    """The project's ``HashingEmbedder`` with each n-gram's bucket memoised and counts taken by ``bincount``:
    the very same vectors (checked at start), about 20× faster."""
    from rag.backends.hashing_embedder import HashingEmbedder

    class MemoHashingEmbedder(HashingEmbedder):
        def __init__(self, model: str = "hashing", *, dim: int = DIM) -> None:
            super().__init__(model, dim=dim)
            self._buckets: dict[str, int] = {}

        def embed(self, texts: Sequence[str], *, is_query: bool = False, show_progress: bool = False) -> Any:
            out = np.zeros((len(texts), self.dim), dtype=np.float32)
            buckets = self._buckets
            for row, text in enumerate(texts):
                chars = [c for c in text if not c.isspace()]
                ids = []
                for gram in itertools.chain(chars, (a + b for a, b in itertools.pairwise(chars))):
                    b = buckets.get(gram)
                    if b is None:
                        b = buckets[gram] = self._bucket(gram)
                    ids.append(b)
                if ids:
                    out[row] = np.bincount(ids, minlength=self.dim)
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            return (out / np.maximum(norms, 1e-12)).astype(np.float32)

    fast = MemoHashingEmbedder(dim=dim)
    probe = ["恒口示范区新建标准化厂房3.1万平方米。", "衡水湖 蓄水量", ""]
    assert np.array_equal(fast.embed(probe), HashingEmbedder(dim=dim).embed(probe)), "memoised vectors differ"
    return fast


def bench_settings() -> Any:
    from rag.settings import Settings

    settings = Settings()
    settings.embedder.backend = "hashing"
    settings.embedder.model = "hashing"
    return settings


# --------------------------------------------------------------------------------------------- children


def child_build(corpus: Path, index: Path, out: Path) -> None:
    from rag.indexing import build_index

    shutil.rmtree(index, ignore_errors=True)
    report = build_index(
        bench_settings(),
        corpus=[corpus],
        index_dir=index,
        rebuild=True,
        embedder=fast_hashing_embedder(),
        progress=False,
    )
    from rag.index import store
    from rag.index.manifest import Manifest

    build = store.current_build(index)
    sizes = {p.name: _size(p) for p in build.iterdir()}
    out.write_text(
        json.dumps(
            {
                "documents": report.documents,
                "chunks": report.chunks,
                "characters": report.characters,
                "failed": len(report.failed),
                "seconds": round(report.seconds, 2),
                "phases": {k: round(v, 2) for k, v in report.phase_seconds.items()},
                "vector_kind": report.vector_kind,
                "vector": Manifest.read(build).vector,
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "disk_bytes": sum(sizes.values()),
                "disk": sizes,
            }
        )
    )


def child_vectors(index: Path, kind: str, out: Path) -> None:
    """Rebuild only the FAISS index of ``index`` as ``kind`` (the other files are the full build's)."""
    from rag.index import store
    from rag.index.manifest import Manifest
    from rag.indexing import VectorFile, build_vector_index

    settings = bench_settings()
    build = store.current_build(index)
    vf = VectorFile(build / store.VECTORS)
    rows, dim = vf.shape
    if kind == "flat":
        settings.index.approximate_from = rows + 1
    else:
        settings.index.approximate_kind = kind  # type: ignore[assignment]
        settings.index.approximate_from = 1
    t0 = time.perf_counter()
    kind, params, vindex = build_vector_index(vf, rows, dim, settings)
    vindex.save(build)
    seconds = time.perf_counter() - t0
    vector = {"backend": settings.index.vector_backend, "kind": kind, **params}
    manifest = dataclasses.replace(Manifest.read(build), vector=vector)
    dataclasses.replace(manifest, artifacts=store.artifact_checksums(build)).write(build)  # vectors.faiss changed
    out.write_text(
        json.dumps(
            {
                "vector_kind": kind,
                "vector": manifest.vector,
                "vectors_s": round(seconds, 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "faiss_bytes": (build / "vectors.faiss").stat().st_size,
            }
        )
    )


def copy_index(src: Path, dst: Path) -> None:
    """A copy of an index's live build made of hard links, but for the manifest and vector index (rewritten)."""
    from rag.index import store
    from rag.index.manifest import MANIFEST

    shutil.rmtree(dst, ignore_errors=True)
    build = store.current_build(src)
    target = store.builds_dir(dst) / build.name
    shutil.copytree(build, target, copy_function=os.link, ignore=shutil.ignore_patterns("vectors.faiss", "manifest*"))
    shutil.copy2(build / MANIFEST, target / MANIFEST)
    store.publish_build(dst, target)


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _timed(fn: Any, items: Sequence[Any]) -> list[float]:
    ms = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def exact_top_k(vectors_path: Path, queries: np.ndarray[Any, Any], k: int) -> np.ndarray[Any, Any]:
    """The ``k``-th best exact inner product per query, by brute force over ``vectors.npy`` in slices."""
    from rag.indexing import VECTOR_SLICE, VectorFile

    vf = VectorFile(vectors_path)
    rows, _ = vf.shape
    best = np.full((len(queries), 0), -np.inf, dtype=np.float32)
    for start in range(0, rows, VECTOR_SLICE):
        scores = queries @ vf.read(start, min(rows, start + VECTOR_SLICE)).T
        merged = np.concatenate([best, scores], axis=1)
        keep = min(k, merged.shape[1])
        best = -np.sort(-np.partition(merged, merged.shape[1] - keep, axis=1)[:, -keep:], axis=1)
    return best[:, k - 1] if best.shape[1] >= k else best[:, -1]


def child_search(index: Path, questions_file: Path, out: Path, *, requests: int, recall_queries: int) -> None:
    from rag.index import store
    from rag.indexing import VectorFile
    from rag.pipeline import build_pipeline
    from rag.tools.benchmark import bench_search, latency_figures

    questions = [json.loads(line)["question"] for line in questions_file.read_text(encoding="utf-8").splitlines()]
    embedder = fast_hashing_embedder()
    t0 = time.perf_counter()
    pipeline = build_pipeline(bench_settings(), index_dir=index, embedder=embedder)
    load_s = time.perf_counter() - t0
    rss_loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        vectors, lexical = pipeline.index.vectors, pipeline.index.lexical
        depth = pipeline.retriever.candidates
        figures: dict[str, Any] = {"load_s": round(load_s, 2), "questions": len(questions)}
        figures["search"] = bench_search(pipeline, questions, requests=requests)
        qs = list(itertools.islice(itertools.cycle(questions), requests))
        qv = embedder.embed(qs, is_query=True)
        figures["embed_query"] = latency_figures(_timed(lambda q: embedder.embed([q], is_query=True), qs))
        figures["faiss"] = latency_figures(_timed(lambda v: vectors.search(v[None, :], depth), list(qv)))
        figures["bm25"] = latency_figures(_timed(lambda q: lexical.search(q, depth), qs))

        # recall@10 of the FAISS index against brute force (ties allowed: a returned row counts when its exact
        # score reaches the exact 10th best)
        rq = embedder.embed(questions[:recall_queries], is_query=True)
        k = 10
        kth = exact_top_k(pipeline.index.path / store.VECTORS, rq, k)
        vf = VectorFile(pipeline.index.path / store.VECTORS)

        def recall() -> float:
            _, ids = vectors.search(rq, k)
            hits = 0
            for i, row_ids in enumerate(ids):
                found = np.sort(row_ids[row_ids >= 0])
                true = vf.take(found) @ rq[i] if len(found) else np.zeros(0)
                hits += int(np.sum(true >= kth[i] - 1e-5))
            return round(hits / (k * len(rq)), 4)

        figures["recall_at_10"] = recall()
        figures["recall_queries"] = len(rq)
        # The search-time knob of the approximate kinds, swept (it is saved in the index; set here directly).
        faiss_index = vectors._index  # a benchmark may reach in
        knob = {"ivf_sq8": "nprobe", "hnsw": "efSearch", "hnsw_sq8": "efSearch"}.get(vectors.kind)
        if knob:
            target = faiss_index if knob == "nprobe" else faiss_index.hnsw
            built = getattr(target, knob)
            sweep = []
            for value in (8, 16, 32, 64, 128, 256):
                setattr(target, knob, value)
                ms = _timed(lambda v: vectors.search(v[None, :], depth), list(qv))
                sweep.append({knob: value, "recall_at_10": recall(), "faiss_ms": latency_figures(ms)})
            setattr(target, knob, built)
            figures["sweep"] = sweep
        figures["peak_rss_loaded_mb"] = round(rss_loaded, 1)
        figures["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    finally:
        pipeline.close()
    out.write_text(json.dumps(figures))


# --------------------------------------------------------------------------------------------- parent


def _run_child(args: list[str]) -> dict[str, Any]:
    out = Path(args[args.index("--out") + 1])
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, *args], check=False)
    if proc.returncode:
        raise SystemExit(f"child {args[:2]} failed with status {proc.returncode}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    return result


def _fmt_mb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB" if mb >= 1024 else f"{mb:.0f} MB"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (
        "| chunks | documents | build | load+chunk | store | embed | FAISS | BM25 | peak RSS build | disk | index | "
        "recall@10 | search p50 / p95 / p99 | FAISS p95 | BM25 p95 | RSS serving |"
    )
    print(head)
    print("|" + "---|" * head.count(" | ") + "---|")
    for r in rows:
        b, s, ph = r["build"], r["search"], r["build"]["phases"]
        srch = s["search"]
        print(
            f"| {b['chunks']:,} | {b['documents']:,} | {b['seconds']:.0f} s | "
            f"{ph.get('load', 0) + ph.get('chunk', 0):.0f} s | {ph.get('store', 0):.0f} s | "
            f"{ph.get('embed', 0):.0f} s | "
            f"{ph.get('vectors', 0):.0f} s | {ph.get('lexical', 0):.0f} s | {_fmt_mb(b['peak_rss_mb'])} | "
            f"{_fmt_mb(b['disk_bytes'] / 2**20)} | {b['vector_kind']} | {s['recall_at_10']:.3f} | "
            f"{srch['p50']:.1f} / {srch['p95']:.1f} / {srch['p99']:.1f} ms | {s['faiss']['p95']:.1f} ms | "
            f"{s['bm25']['p95']:.1f} ms | {_fmt_mb(s['peak_rss_mb'])} |"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="chunk counts, comma-separated")
    parser.add_argument("--work", type=Path, default=Path("/tmp/rag-scale"), help="corpora and indexes go here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--requests", type=int, default=300, help="timed searches per size")
    parser.add_argument("--recall-queries", type=int, default=500, help="queries for recall@10 against exact search")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep each size's index (default: deleted after)")
    parser.add_argument(
        "--kinds",
        default="",
        help="also rebuild only the vector index as each of these kinds (comma-separated: flat, ivf_sq8, "
        "hnsw_sq8, hnsw) over the same build, and search it",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse an index kept by --keep instead of building")
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=["build", "search", "vectors"], help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--questions", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.child == "build":
        child_build(args.corpus, args.index, args.out)
        return
    if args.child == "vectors":
        child_vectors(args.index, args.kind, args.out)
        return
    if args.child == "search":
        child_search(args.index, args.questions, args.out, requests=args.requests, recall_queries=args.recall_queries)
        return

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results: list[dict[str, Any]] = []
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    for n in sizes:
        work = args.work / f"n{n}"
        print(f"[{time.strftime('%H:%M:%S')}] {n:,} chunks: generating the corpus", flush=True)
        corpus = generate_corpus(n, work, seed=args.seed, questions=max(args.requests, args.recall_queries))
        print(f"[{time.strftime('%H:%M:%S')}] {n:,}: corpus {corpus}; building", flush=True)
        index = work / "index"
        if args.reuse and (work / "b.json").is_file() and (index / "CURRENT").is_file():
            build = json.loads((work / "b.json").read_text())
        else:
            build = _run_child(["--child", "build", "--corpus", str(work / "corpus"), "--index", str(index),
                                "--out", str(work / "b.json")])  # fmt: skip
        print(f"[{time.strftime('%H:%M:%S')}] {n:,}: build {build}; searching", flush=True)
        search = _search(index, work, args)
        print(f"[{time.strftime('%H:%M:%S')}] {n:,}: search {search}", flush=True)
        results.append({"target": n, "corpus": corpus, "build": build, "search": search})
        for kind in [k.strip() for k in args.kinds.split(",") if k.strip() and k.strip() != build["vector_kind"]]:
            other = work / f"index-{kind}"
            copy_index(index, other)
            vec = _run_child(["--child", "vectors", "--index", str(other), "--kind", kind,
                              "--out", str(work / f"v-{kind}.json")])  # fmt: skip
            print(f"[{time.strftime('%H:%M:%S')}] {n:,}: {kind} vectors {vec}; searching", flush=True)
            variant = _variant(build, vec)
            results.append({"target": n, "corpus": corpus, "build": variant, "search": _search(other, work, args)})
            print(f"[{time.strftime('%H:%M:%S')}] {n:,}: {kind} search {results[-1]['search']}", flush=True)
            shutil.rmtree(other, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(index, ignore_errors=True)
        if args.json:
            args.json.write_text(json.dumps(_report(results, started), indent=2, ensure_ascii=False))
    print_table(results)


def _search(index: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    return _run_child(
        ["--child", "search", "--index", str(index), "--questions", str(work / "questions.jsonl"),
         "--out", str(work / "s.json"), "--requests", str(args.requests),
         "--recall-queries", str(args.recall_queries)]
    )  # fmt: skip


def _variant(build: dict[str, Any], vec: dict[str, Any]) -> dict[str, Any]:
    """The full build's figures with the vector step swapped for another kind's (peak RSS: the larger of the
    full build's and the vector step's own)."""
    phases = {**build["phases"], "vectors": vec["vectors_s"]}
    disk = {**build["disk"], "vectors.faiss": vec["faiss_bytes"]}
    return {
        **build,
        "phases": phases,
        "seconds": round(build["seconds"] - build["phases"]["vectors"] + vec["vectors_s"], 2),
        "vector_kind": vec["vector_kind"],
        "vector": vec["vector"],
        "vectors_step_peak_rss_mb": vec["peak_rss_mb"],
        "peak_rss_mb": max(build["peak_rss_mb"], vec["peak_rss_mb"]),
        "disk": disk,
        "disk_bytes": sum(disk.values()),
        "variant_of": build["vector_kind"],
    }


def _report(results: list[dict[str, Any]], started: str) -> dict[str, Any]:
    return {
        "started": started,
        "command": " ".join(sys.argv),
        "machine": {"cpu_count": os.cpu_count(), "memory_gb": _memory_gb(), "load_average": os.getloadavg()},
        "embedder": f"hashing (character uni/bigrams into {DIM} buckets), not a semantic model",
        "versions": _versions(),
        "results": results,
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("faiss-cpu", "bm25s", "jieba", "numpy", "scipy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "?"
    return out


def _memory_gb() -> float:
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        return 0.0


if __name__ == "__main__":
    main()
