"""`rag eval` and `rag bench`: the measuring commands (scores on a question set; build, search and `/ask` speed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from rag.cli_common import IndexOpt, err, out, print_json
from rag.cli_common import load_settings as _settings
from rag.errors import ConfigError
from rag.machine import describe_cpu


def eval_cmd(
    dataset: Annotated[
        Path, typer.Option("--dataset", help="Bench folder (passages.jsonl + questions.jsonl) or seeds_dev.tsv.")
    ],
    index: IndexOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Ask only the first N questions (0: all).")] = 0,
    answers: Annotated[bool, typer.Option("--answers/--no-answers", help="Also score the answers.")] = True,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write the figures to this file.")] = None,
    details: Annotated[bool, typer.Option("--details", help="Add each question's answer to --json.")] = False,
    bench_root: Annotated[
        Path, typer.Option("--bench-root", help="Where a questions-only .jsonl finds its `dataset` passages.")
    ] = Path("../shared/bench"),
) -> None:
    """Score retrieval (hit@k, MRR@10, CMRC chunk-level) and answers (short answer right / wrong, wrong but
    grounded, containment, refusals, EM/F1) on a bench set, a TSV of questions or a questions-only JSONL."""
    import tempfile

    from rag.factories import create_embedder
    from rag.indexing import build_index
    from rag.pipeline import build_pipeline
    from rag.tools.evaluation import bench_corpus, cached_document_text, evaluate, load_questions

    if not dataset.exists():
        raise ConfigError(f"dataset {dataset} not found; the bench data lives in ../shared/bench")
    settings = _settings(index)
    bad: list[str] = []
    questions = load_questions(dataset, errors=bad)[: limit or None]
    for why in bad:
        err.print(f"[yellow]{dataset} {why}[/yellow] (skipped)", highlight=False)
    if dataset.is_dir():
        corpus = [dataset / "passages.jsonl"]
    elif dataset.suffix == ".jsonl":
        corpus = bench_corpus(dataset, bench_root)
    else:
        corpus = []
    embedder = create_embedder(settings.embedder)  # loaded once, for the temporary index and the questions
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        if index is None and corpus:
            err.print(f"indexing {', '.join(map(str, corpus))} into a temporary index")
            settings.index.dir = Path(tmp)
            build_index(settings, corpus=corpus, embedder=embedder, on_event=lambda m: err.print(m))
        pipeline = build_pipeline(settings, embedder=embedder)
        report = evaluate(
            questions,
            retrieve=lambda q: pipeline.search(q, top_k=10),
            doc_text=cached_document_text(pipeline.index.chunks),
            # The answer reads the first top_k of the ten passages retrieved for the figures (the same ranking).
            ask=(lambda q, r: pipeline.ask(q, found=r.first(settings.retrieval.top_k)).to_dict()) if answers else None,
            progress=True,
            details=details,
        )
        pipeline.close()
    if bad:
        report["unreadable_lines"] = bad
    report["dataset"] = str(dataset)
    report["settings"] = {"retrieval": settings.retrieval.model_dump(), "chunking": settings.chunking.model_dump()}
    print_json({k: v for k, v in report.items() if k != "per_question"})
    if json_file:
        json_file.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


def bench_cmd(
    corpus: Annotated[
        list[Path] | None, typer.Option("--corpus", help="Corpus to build (default: `corpus/`); repeatable.")
    ] = None,
    questions: Annotated[
        Path | None,
        typer.Option("--questions", help="TSV (`question` column) or JSONL; default ../shared/bench/seeds_dev.tsv."),
    ] = None,
    requests: Annotated[int, typer.Option("--requests", min=1, max=100_000, help="Requests per phase.")] = 200,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256, help="Concurrent HTTP clients.")] = 16,
    json_file: Annotated[Path | None, typer.Option("--json", help="Write all figures to this file.")] = None,
    skip_build: Annotated[
        bool, typer.Option("--skip-build", help="Benchmark the existing index (--index) instead of building one.")
    ] = False,
    index: IndexOpt = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=1, help="Seconds after which the HTTP phases send no more requests.")
    ] = 600.0,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="`rag serve --workers` for /ask.")] = 1,
) -> None:
    """Print benchmark figures: index build, in-process search latency, `/ask` over a real loopback server."""
    from rag.tools.benchmark import run_benchmark

    settings = _settings(index)
    figures = run_benchmark(
        settings,
        corpus=corpus or [Path("corpus")],
        questions_file=questions,
        requests=requests,
        concurrency=concurrency,
        skip_build=skip_build,
        time_limit=time_limit,
        workers=workers,
        on_event=lambda m: err.print(m, highlight=False),
    )
    print_bench(figures)
    if json_file:
        json_file.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        err.print(f"figures written to {json_file}", highlight=False)


def print_bench(f: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    m, e = f["machine"], f["embedder"]
    docs = e.get("documents") or {}
    made_by = docs.get("backend", e["backend"]) + (" int8" if docs.get("quantize") else "")
    fidelity = e.get("fidelity") or {}
    out.print(
        f"{f['timestamp']}  {describe_cpu(m['cpu'])}; load {m['load_average_1m_at_start']} at start\n"
        f"embedder {e['model']}: documents {made_by}, questions {e['query_encoder']}; int8 export "
        + ("cached at start" if e["export_cached_at_start"] else "made by this run")
        + (
            f" (fidelity: mean cosine {fidelity.get('mean_cosine')}, "
            f"top-10 agreement {fidelity.get('top10_agreement')})"
            if fidelity
            else ""
        )
        + f"\nquestions {f['questions']['count']} ({f['questions']['source']})",
        highlight=False,
    )
    if f["build"]:
        b = f["build"]
        build = Table("build (--rebuild, temporary index)", "", show_header=True)
        for name, value in [
            ("documents", b["documents"]),
            ("chunks", b["chunks"]),
            ("characters", b["characters"]),
            ("seconds", b["seconds"]),
            ("chunks/s", b["chunks_per_s"]),
            ("characters/s", b["characters_per_s"]),
            ("embedding share of the time", f"{b['embed_share']:.0%} ({b['embed_seconds']} s)"),
            ("peak RSS (MB)", b["peak_rss_mb"]),
            ("index size on disk (bytes)", f["index"]["size_bytes"]),
        ]:
            build.add_row(name, str(value))
        out.print(build)
    else:
        out.print(f"index {f['index']['dir']}: {f['index']['size_bytes']} bytes (not rebuilt)", highlight=False)
    # no vertical rules: the figures fit the 80 columns that piped output gets
    lat = Table(
        "latency (ms)", "n", "p50", "p95", "p99", "mean", "req/s", "errors", box=box.SIMPLE_HEAD, collapse_padding=True
    )
    lat.columns[0].no_wrap = True
    rows = [
        ("search, in process", f["search"]),
        ("/ask, 1 client", f["http"]["sequential"]),
        (f"/ask, {f['http']['concurrent']['concurrency']} clients", f["http"]["concurrent"]),
    ]
    if f.get("reader"):
        rows.insert(1, (f"reader, top {f['reader']['passages']} passages", f["reader"]))
    for name, r in rows:
        cells = [str(r.get(k, "-")) for k in ("n", "p50", "p95", "p99", "mean", "rps", "errors")]
        lat.add_row(name, *cells)
    out.print(lat)
    seq, conc = f["http"]["sequential"], f["http"]["concurrent"]
    out.print(
        "CPU a request, ms (server / this load generator, on the same cores): "
        f"1 client {seq.get('server_cpu_ms_per_request', '-')} / {seq.get('client_cpu_ms_per_request', '-')}, "
        f"{conc['concurrency']} clients {conc.get('server_cpu_ms_per_request', '-')} / "
        f"{conc.get('client_cpu_ms_per_request', '-')}",
        highlight=False,
    )
    srv = f["server"]
    out.print(
        f"server ({srv.get('workers', 1)} worker(s)) ready after {srv['ready_seconds']} s, web UI after "
        f"{srv.get('ui_seconds') or '-'} s, RSS then {srv.get('rss_mb', '-')} MB, torch loaded: "
        f"{'yes' if srv.get('torch_loaded') else 'no'}" + ("; time limit hit" if f["http"]["timed_out"] else ""),
        highlight=False,
    )
