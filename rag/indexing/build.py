"""Building the index: run the steps over the corpus into a temporary build, then publish it atomically."""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import logging
import os
import resource
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rag import __version__
from rag.backends.onnx_embedder import OnnxEmbedder, recorded_fidelity
from rag.errors import (
    BackendUnavailableError,
    ConfigError,
    IndexBusyError,
    IndexMismatchError,
    IndexNotFoundError,
    StorageFullError,
)
from rag.factories import create_embedder, embedder_fingerprint
from rag.index import shards, store
from rag.index.manifest import FORMAT_VERSION, SHARDED_FORMAT_VERSION, Counts, Manifest
from rag.indexing import passes, steps
from rag.indexing.engines import Engine, LocalEngine, create_engine
from rag.indexing.plan import can_reuse, plan_vectors
from rag.indexing.vectors import VectorFile, build_vector_index
from rag.loaders import ReadOptions, discover_files
from rag.machine import available_cpus
from rag.protocols import Embedder
from rag.settings import EmbedderSettings, Settings
from rag.text import TOKENIZER_VERSION

log = logging.getLogger("rag.indexing")  # the name it had as one module: log settings that name it still apply


@dataclass(slots=True)
class BuildReport:
    """What a build did, for the CLI and for benchmarks."""

    index_dir: Path
    build_id: str = ""
    documents: int = 0
    chunks: int = 0
    characters: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded_chunks: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0
    embed_seconds: float = 0.0
    peak_rss_mb: float = 0.0
    published: bool = False
    vector_kind: str = ""
    # Seconds per step: load, chunk, store, embed, vectors (FAISS), lexical (BM25).
    phase_seconds: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class _Previous:
    """The live build, when its vectors can be reused."""

    manifest: Manifest
    vectors: VectorFile
    store: store.ChunkStore


def build_index(
    settings: Settings,
    *,
    corpus: Sequence[Path] | None = None,
    index_dir: Path | None = None,
    rebuild: bool = False,
    embedder: Embedder | None = None,
    progress: bool = True,
    on_event: Callable[[str], None] | None = None,
) -> BuildReport:
    """Build (or update) the index of ``corpus`` under ``index_dir`` and publish it atomically.

    Unchanged documents keep their vectors; the previous build stays live until the new one is complete.
    Documents stream from the loaders through the chunker into the store (one corpus file in memory at a
    time); vectors go to ``vectors.npy`` as they are embedded and are read back a slice at a time.
    """
    t0 = time.perf_counter()
    index_dir = Path(index_dir or settings.index.dir)
    roots = [Path(p) for p in (corpus or settings.index.corpus)]
    report = BuildReport(index_dir=index_dir)
    say = on_event or (lambda msg: log.info(msg))
    wanted: dict[str, Any] = {
        "embedder": embedder_fingerprint(document_settings(settings.embedder), embedder),
        "chunking": settings.chunking.model_dump(),
        "lexical": {"backend": settings.index.lexical_backend, "tokenizer": TOKENIZER_VERSION},
    }
    with _build_lock(index_dir):
        previous = None if rebuild else _open_previous(index_dir, wanted)
        build_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)
        tmp = store.builds_dir(index_dir) / f".tmp-{build_id}"
        tmp.mkdir(parents=True)
        try:
            built = _build_into(tmp, settings, roots, previous, embedder, report, wanted, progress=progress, say=say)
            report.seconds = time.perf_counter() - t0
            report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            manifest = _manifest(built, build_id=build_id, wanted=wanted, roots=roots, report=report)
            # What `rag index verify` and loading check: every file's size and checksum.
            manifest = replace(manifest, artifacts=store.artifact_checksums(tmp))
            manifest.write(tmp)
            if previous is not None:
                previous.store.close()
            final = store.builds_dir(index_dir) / build_id
            os.rename(tmp, final)
            store.publish_build(index_dir, final)
            store.prune_builds(index_dir, keep=settings.index.keep_builds)
        except BaseException as exc:
            shutil.rmtree(tmp, ignore_errors=True)  # the space it took is given back at once
            if _disk_full(exc):
                raise StorageFullError(
                    f"the disk under {index_dir.name}/ is full: build {build_id} could not be written and was "
                    "removed; the previous build is still live — free some space (or point RAG_INDEX__DIR at a "
                    "bigger disk) and run the build again"
                ) from exc
            raise
        report.build_id = build_id
        report.published = True
    return report


def document_settings(cfg: EmbedderSettings) -> EmbedderSettings:
    """The embedder settings documents are embedded with: ``cfg``, unless its int8 export is on record as too
    far from the original model, in which case the original (sentence-transformers) does it."""
    if cfg.backend == "onnx" and cfg.quantize:
        record = recorded_fidelity(cfg.model, cfg.cache_dir)
        if record is not None and not record.get("passed", True):
            return cfg.model_copy(update={"backend": "sentence-transformers"})
    return cfg


def document_embedder(cfg: EmbedderSettings, texts: Sequence[str], *, say: Callable[[str], None]) -> Embedder:
    """The embedder for a build's documents. An int8 export is checked once against the original model on a
    sample of ``texts`` (the chunks about to be embedded; ``steps.measure_fidelity``), the result kept beside
    the export; below the thresholds the original model embeds the documents instead, and the build says so."""
    embedder = create_embedder(document_settings(cfg))
    if not isinstance(embedder, OnnxEmbedder) or not embedder.quantize:
        return embedder
    record = embedder.fidelity()
    reference: Embedder | None = None
    if record is None:
        try:
            reference = create_embedder(cfg.model_copy(update={"backend": "sentence-transformers"}))
        except (BackendUnavailableError, ConfigError, ImportError) as exc:
            say(f"the int8 export of {cfg.model} is used unchecked: the original model cannot be loaded ({exc})")
            return embedder
        record = steps.measure_fidelity(embedder, reference, steps.fidelity_sample(texts))
        embedder.record_fidelity(record)
        say(
            f"int8 export of {cfg.model} checked on {record['sample']} chunks: mean cosine "
            f"{record.get('mean_cosine')}, least {record.get('min_cosine')}, top-10 agreement "
            f"{record.get('top10_agreement')}"
        )
    if record.get("passed", True):
        return embedder
    say(
        f"the int8 export of {cfg.model} is too far from the original model ({record}): documents are embedded "
        "by sentence-transformers instead (RAG_EMBEDDER__BACKEND=sentence-transformers skips the export)"
    )
    return reference or create_embedder(cfg.model_copy(update={"backend": "sentence-transformers"}))


def _build_into(
    tmp: Path,
    settings: Settings,
    roots: list[Path],
    previous: _Previous | None,
    embedder: Embedder | None,
    report: BuildReport,
    wanted: dict[str, Any],
    *,
    progress: bool,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Write the store, the vectors and both indexes into ``tmp``; fill in ``report``; return the manifest's
    build-specific parts."""
    phases = report.phase_seconds
    embedder_given = embedder is not None
    corpus = passes.write_store(
        tmp,
        discover_files(roots),
        chunking=settings.chunking.model_dump(),
        old_sources=previous.manifest.sources if previous else {},
        old_store=previous.store if previous else None,
        reading=ReadOptions(**settings.loaders.model_dump()),
        phases=phases,
    )
    plan = plan_vectors(previous.manifest.documents if previous else {}, corpus.documents)
    report.failed = corpus.failed
    report.documents, report.characters = corpus.count, corpus.characters
    report.added, report.changed, report.unchanged = plan.added, plan.changed, plan.unchanged
    report.removed = plan.removed
    report.chunks, report.embedded_chunks = len(corpus.texts), len(plan.embed)

    if plan.embed and embedder is None:
        embedder = document_embedder(settings.embedder, [corpus.texts[r] for r in plan.embed], say=say)
        made_by = embedder_fingerprint(settings.embedder, embedder)
        if made_by != wanted["embedder"]:  # the int8 export failed its check just now: no vector of it is kept
            wanted["embedder"] = made_by
            plan = plan_vectors({}, corpus.documents)
            previous = None
    dim = embedder.dim if embedder is not None else previous.manifest.dim if previous else 0
    if not dim:
        embedder = create_embedder(document_settings(settings.embedder))
        dim = embedder.dim

    vectors = VectorFile.create(tmp / store.VECTORS, rows=report.chunks, dim=dim)
    texts, corpus.texts = corpus.texts, []  # held by the two passes below, let go once both are done
    # Never an empty shard: a corpus of fewer chunks than shards has one chunk a shard.
    bounds = shards.split_rows(report.chunks, max(1, min(settings.index.shards, report.chunks)))
    engine = _engine(settings, embedder_given)
    try:
        # The lexical index is built (tokenised by worker processes) while the embedder runs, and saved and
        # freed before the vector index is built: the two never need memory at once.
        with _Lexical(tmp, texts, settings, phases, engine, bounds) as lexical:
            t_embed = time.perf_counter()
            old_vectors = previous.vectors if previous else None
            passes.fill_vectors(
                vectors,
                texts,
                plan,
                old_vectors=old_vectors,
                embedder=embedder,
                progress=progress,
                say=say,
                engine=engine,
            )
            report.embed_seconds = phases["embed"] = time.perf_counter() - t_embed
            lexical.wait()
    finally:
        engine.close()
    del texts

    vector_kind, vector_params = _write_vector_index(tmp, vectors, bounds, dim=dim, settings=settings, phases=phases)
    report.vector_kind = vector_kind
    return {
        "dim": dim,
        "vector": {"backend": settings.index.vector_backend, "kind": vector_kind, **vector_params},
        "sources": corpus.sources,
        "documents": corpus.documents,
        "shards": _shard_list(tmp, bounds),
    }


def _shard_list(tmp: Path, bounds: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """The manifest's shards: none for a build of one index."""
    if len(bounds) == 1:
        return []
    return [
        shards.Shard(start, stop, shards.shard_dir(tmp, i).relative_to(tmp).as_posix()).to_dict()
        for i, (start, stop) in enumerate(bounds)
    ]


def _engine(settings: Settings, embedder_given: bool) -> Engine:
    """The engine of this build: the settings' one, but this process when the caller handed over its embedder
    (an upload into a served index: a few chunks)."""
    if settings.index.engine == "local" or embedder_given:
        return LocalEngine()
    cfg = document_settings(settings.embedder).model_dump(mode="json")
    return create_engine(
        settings.index.engine, address=settings.index.ray_address, embedder_cfg=cfg, workers=settings.index.ray_workers
    )


def _write_vector_index(
    tmp: Path,
    vectors: VectorFile,
    bounds: list[tuple[int, int]],
    *,
    dim: int,
    settings: Settings,
    phases: dict[str, float],
) -> tuple[str, dict[str, Any]]:
    """The FAISS index (one per shard), saved and freed in turn; returns the (first) kind and its parameters."""
    t_vectors = time.perf_counter()
    made: list[tuple[str, dict[str, Any]]] = []
    for i, (start, stop) in enumerate(bounds):
        kind, params, vindex = build_vector_index(vectors, stop - start, dim, settings, first=start)
        folder = tmp if len(bounds) == 1 else shards.shard_dir(tmp, i)
        folder.mkdir(parents=True, exist_ok=True)
        vindex.save(folder)
        del vindex
        made.append((kind, params))
    phases["vectors"] = time.perf_counter() - t_vectors
    return made[0]


class _Lexical:
    """The lexical index of a build's chunks, built and saved into ``tmp`` by a thread beside the vector pass.

    jieba runs in worker processes (``RAG_INDEX__TOKENIZE_PROCESSES``), so the thread itself mostly waits; it
    holds the GIL only to map tokens to ids. ``wait`` re-raises what the thread raised. Leaving the block early
    (the vector pass failed) stops the thread at its next chunk and waits for it, so that nothing is still
    writing into a build folder that is about to be removed.
    """

    def __init__(
        self,
        tmp: Path,
        texts: list[str],
        settings: Settings,
        phases: dict[str, float],
        engine: Engine,
        bounds: list[tuple[int, int]],
    ) -> None:
        self._tmp, self._texts, self._phases, self._bounds = tmp, texts, phases, bounds
        self._token_lists = engine.token_lists()
        self._backend = settings.index.lexical_backend
        self._processes = settings.index.tokenize_processes or available_cpus()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="lexical-index", daemon=True)

    def __enter__(self) -> _Lexical:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            sharded = len(self._bounds) > 1
            lexical = steps.build_lexical(
                _Until(self._stop, self._texts),
                backend=self._backend,
                processes=self._processes,
                token_lists=self._token_lists,
                bounds=self._bounds if sharded else None,
            )
            if not self._stop.is_set():
                for i, part in enumerate(lexical if sharded else [lexical]):
                    folder = shards.shard_dir(self._tmp, i) if sharded else self._tmp
                    folder.mkdir(parents=True, exist_ok=True)
                    part.save(folder)
            del lexical
        except BaseException as exc:  # handed to the building thread by wait()
            self._error = exc
        self._phases["lexical"] = time.perf_counter() - t0


class _Until(Sequence[str]):
    """``texts``, read until ``stop`` is set: then they seem to end (a stopped lexical build ends early)."""

    def __init__(self, stop: threading.Event, texts: list[str]) -> None:
        self._stop, self._texts = stop, texts

    def __len__(self) -> int:
        return len(self._texts)

    def __getitem__(self, i: Any) -> Any:
        return self._texts[i]

    def __iter__(self) -> Iterator[str]:
        for text in self._texts:
            if self._stop.is_set():
                return
            yield text


def _manifest(
    built: dict[str, Any], *, build_id: str, wanted: dict[str, Any], roots: list[Path], report: BuildReport
) -> Manifest:
    return Manifest(
        format_version=SHARDED_FORMAT_VERSION if built["shards"] else FORMAT_VERSION,
        package_version=__version__,
        build_id=build_id,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        embedder={**wanted["embedder"], "dim": built["dim"]},
        chunking=wanted["chunking"],
        lexical=wanted["lexical"],
        vector=built["vector"],
        counts=Counts(report.documents, report.chunks, report.characters),
        corpus=[str(p) for p in roots],
        sources=built["sources"],
        documents=built["documents"],
        shards=built["shards"],
        failed=[{"source": s, "error": e} for s, e in report.failed],
        timings={
            "total_s": round(report.seconds, 3),
            "embed_s": round(report.embed_seconds, 3),
            **{f"{name}_s": round(sec, 3) for name, sec in report.phase_seconds.items()},
        },
    )


@contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IndexBusyError(f"another `rag index build` is running on {index_dir}; wait for it") from None
        yield


def _open_previous(index_dir: Path, wanted: dict[str, Any]) -> _Previous | None:
    try:
        build = store.current_build(index_dir)
        manifest = Manifest.read(build)
    except (IndexNotFoundError, IndexMismatchError):
        return None
    if not can_reuse({"embedder": manifest.embedder, "chunking": manifest.chunking}, wanted):
        log.info("settings changed since the last build: everything is re-embedded")
        return None
    return _Previous(manifest, VectorFile(build / store.VECTORS), store.ChunkStore(build))


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is the file system out of space."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, sqlite3.OperationalError) and "disk is full" in str(exc):
            return True
        if isinstance(exc, RuntimeError) and "No space left on device" in str(exc):  # FAISS's own writer
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False
