"""Knowledge bases: separate corpora (per city, year or department), each with its own index, asked one at a
time or several together.

The default knowledge base is the settings' own index (``index.dir``) and corpus (``index.corpus``): a set-up
with one corpus has nothing more to do. Named ones live in ``index.kbs_dir``::

    kbs/<name>/kb.json    what it is: {"description": …, "corpus": [folders]} (no "corpus": its own folder)
    kbs/<name>/corpus/    its files; uploads go there
    kbs/<name>/index/     its index, laid out as the default one
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from rag import corpus
from rag.citations import AnswerStream
from rag.errors import (
    ConflictError,
    FileTooLargeError,
    IndexNotFoundError,
    IngestError,
    InvalidQueryError,
    KnowledgeBaseNotFoundError,
    RAGError,
    UnsupportedFileError,
)
from rag.index import store
from rag.index.manifest import Manifest
from rag.indexing import build_index
from rag.pipeline import SearchResult
from rag.protocols import Embedder
from rag.service import NO_FILTERS, Filters, RagService, build_service
from rag.settings import Settings

DEFAULT_KB = "default"
KB_FILE = "kb.json"
_NAME = re.compile(r"[0-9A-Za-z\u4e00-\u9fff][0-9A-Za-z\u4e00-\u9fff_.-]{0,63}")
NAME_RULE = "1–64 letters, digits, Chinese characters, '_', '-' or '.', starting with a letter, digit or character"


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """A corpus and the index built from it."""

    name: str
    index_dir: Path
    corpus: tuple[Path, ...]
    description: str = ""

    def settings(self, base: Settings) -> Settings:
        """``base`` with this knowledge base's index and corpus."""
        index = base.index.model_copy(update={"dir": self.index_dir, "corpus": list(self.corpus)})
        return base.model_copy(update={"index": index})

    def describe(self) -> dict[str, Any]:
        """Name, description, corpus folder names and what its live build holds (``built``: False if none)."""
        info: dict[str, Any] = {"name": self.name, "description": self.description}
        info["corpus"] = [p.name for p in self.corpus]
        try:
            summary = Manifest.read(store.current_build(self.index_dir)).summary()
        except (IndexNotFoundError, RAGError, OSError, ValueError):
            return {**info, "built": False, "documents": 0, "chunks": 0, "built_at": None}
        return {**info, "built": True, **{k: summary[k] for k in ("documents", "chunks", "built_at")}}


def check_name(name: str) -> str:
    if name == DEFAULT_KB or not _NAME.fullmatch(name):
        raise InvalidQueryError(f"knowledge base name {name!r}: use {NAME_RULE} (not {DEFAULT_KB!r})")
    return name


def find_kb(settings: Settings, name: str | None) -> KnowledgeBase:
    """The knowledge base ``name`` (None or ``default``: the settings' own)."""
    if not name or name == DEFAULT_KB:
        return KnowledgeBase(DEFAULT_KB, Path(settings.index.dir), tuple(Path(p) for p in settings.index.corpus))
    folder = Path(settings.index.kbs_dir) / name
    try:
        data = json.loads((folder / KB_FILE).read_text(encoding="utf-8")) if _NAME.fullmatch(name) else None
    except (FileNotFoundError, NotADirectoryError):
        data = None
    if not isinstance(data, dict):
        raise KnowledgeBaseNotFoundError(
            f"no knowledge base {name!r} — `GET /kbs` lists them; `rag index build --kb {name}` or `POST /kbs` "
            "makes one"
        )
    roots = tuple(Path(p) for p in data.get("corpus") or [folder / "corpus"])
    return KnowledgeBase(name, folder / "index", roots, str(data.get("description") or ""))


def list_kbs(settings: Settings) -> list[KnowledgeBase]:
    """The default knowledge base, then the named ones by name."""
    root = Path(settings.index.kbs_dir)
    names = sorted(p.parent.name for p in root.glob(f"*/{KB_FILE}")) if root.is_dir() else []
    return [find_kb(settings, None), *(find_kb(settings, n) for n in names if _NAME.fullmatch(n))]


def write_kb(folder: Path, *, description: str = "", roots: Sequence[Path] | None = None) -> None:
    """Write ``folder``'s kb.json atomically (and its own corpus folder when it has no other)."""
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"description": description}
    if roots:
        data["corpus"] = [str(Path(p).resolve()) for p in roots]
    else:
        (folder / "corpus").mkdir(exist_ok=True)
    tmp = folder / f".{KB_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, folder / KB_FILE)


def ensure_kb(settings: Settings, name: str, *, roots: Sequence[Path] | None = None) -> KnowledgeBase:
    """The knowledge base ``name``, made if it does not exist (for `rag index build --kb`); ``roots``, when
    given, become its corpus folders."""
    check_name(name)
    folder = Path(settings.index.kbs_dir) / name
    if roots or not (folder / KB_FILE).is_file():
        old = find_kb(settings, name).description if (folder / KB_FILE).is_file() else ""
        write_kb(folder, description=old, roots=roots)
    return find_kb(settings, name)


class KnowledgeBases:
    """The knowledge bases one server answers from, each a ``RagService`` opened on first use; they share the
    models the default one loaded. Writes (create, delete) need the API key as the default service's do."""

    def __init__(self, settings: Settings, *, default: RagService | None = None) -> None:
        self.settings = settings
        self.default = default or build_service(settings, kb=DEFAULT_KB)
        self._services: dict[str, RagService] = {}
        self._lock = threading.Lock()

    def _models(self) -> tuple[Embedder | None, Embedder | None]:
        if not self.default.live.ready:
            return None, None
        pipeline = self.default.pipeline()
        return pipeline.embedder, pipeline.query_embedder

    def service(self, name: str | None) -> RagService:
        """The service of knowledge base ``name`` (None: the default), its index loaded on first use."""
        kb = find_kb(self.settings, name)
        if kb.name == DEFAULT_KB:
            return self.default
        with self._lock:
            service = self._services.get(kb.name)
            if service is None:
                service = build_service(kb.settings(self.settings), kb=kb.name, models=self._models)
                self._services[kb.name] = service
            if not service.live.ready:  # first use, or asked before its first build: (re)load
                service.live.load()
        return service

    def exists(self, name: str) -> bool:
        """Whether ``name`` is a knowledge base (one file check)."""
        root = Path(self.settings.index.kbs_dir)
        return name == DEFAULT_KB or (bool(_NAME.fullmatch(name)) and (root / name / KB_FILE).is_file())

    def names(self) -> list[str]:
        """The named knowledge bases (the default one aside)."""
        return [kb.name for kb in list_kbs(self.settings)[1:]]

    def describe_one(self, name: str) -> dict[str, Any]:
        """A knowledge base's name, description, counts and whether it is loaded here."""
        return self._describe(find_kb(self.settings, name))

    def describe(self) -> list[dict[str, Any]]:
        return [self._describe(kb) for kb in list_kbs(self.settings)]

    def _describe(self, kb: KnowledgeBase) -> dict[str, Any]:
        return {**kb.describe(), "loaded": kb.name == DEFAULT_KB or kb.name in self._services}

    def ask_stream(
        self,
        question: str,
        *,
        kbs: Sequence[str] = (),
        top_k: int | None = None,
        backend: str | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
        filters: Filters = NO_FILTERS,
    ) -> AnswerStream:
        """The answer from the knowledge bases ``kbs`` (none: the default one). Several are searched with the
        same (rewritten) question and their passages ranked together by score; each citation names its kb."""
        services = [self.service(name) for name in dict.fromkeys(kbs or [DEFAULT_KB])]
        first = services[0]
        if len(services) == 1:
            return first.ask_stream(question, top_k=top_k, backend=backend, history=history, filters=filters)
        pipelines = [s.pipeline() for s in services]

        def search(q: str, top_k: int | None, filters: Mapping[str, Any]) -> SearchResult:
            t0 = time.perf_counter()
            k = top_k or first.top_k
            found = [p.search(q, top_k=k, **filters) for p in pipelines]
            hits = sorted((h for f in found for h in f.hits), key=lambda h: -h.score)[:k]
            return SearchResult(hits, (time.perf_counter() - t0) * 1000)

        return pipelines[0].ask_stream(
            question, top_k=top_k or first.top_k, backend=backend, history=history, search=search, **filters.kwargs()
        )

    def create(
        self, name: str, uploads: Sequence[corpus.Upload], *, key: str | None, description: str = ""
    ) -> dict[str, Any]:
        """A new knowledge base made of ``uploads``: its files saved and its index built in its folder, which
        becomes a knowledge base (its kb.json is written) only when the build succeeded with at least one
        document; a failed create leaves nothing behind. One result per file."""
        self.default.check_key(key)
        check_name(name)
        if not uploads:
            raise UnsupportedFileError("a new knowledge base needs files: send one or more `files` parts")
        folder = Path(self.settings.index.kbs_dir) / name
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            folder.mkdir()  # atomic: of two creates of one name, one gets it
        except FileExistsError:
            raise ConflictError(
                f"knowledge base {name!r} exists (or its folder {folder} does): upload to it "
                f"(`POST /documents?kb={name}`)"
            ) from None
        try:
            files = folder / "corpus"
            files.mkdir()
            outcomes = self._save(uploads, files)
            saved = [o for o in outcomes if o["status"] == "added"]
            if saved:
                kb = KnowledgeBase(name, folder / "index", (files,), description)
                embedder, _ = self._models()
                report = build_index(kb.settings(self.settings), embedder=embedder, progress=False)
                failed = dict(report.failed)
                for o in saved:
                    if o["source"] in failed:  # saved, yet it does not load: not kept
                        (files / PurePosixPath(o["source"]).name).unlink(missing_ok=True)
                        o.update(status="failed", reason=failed[o["source"]], source=None)
            if not any(o["status"] == "added" for o in outcomes):
                raise IngestError(
                    "no file could be added: " + "; ".join(f"{o['name']}: {o['reason']}" for o in outcomes)
                )
            write_kb(folder, description=description)  # from now on it is a knowledge base
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        sources = Manifest.read(store.current_build(folder / "index")).sources
        for o in outcomes:
            o["documents"] = sources.get(o["source"], {}).get("documents", []) if o["status"] == "added" else []
        return {"kb": self.describe_one(name), "files": outcomes}

    def _save(self, uploads: Sequence[corpus.Upload], folder: Path) -> list[dict[str, Any]]:
        limit = int(self.settings.api.max_upload_mb * 1024 * 1024)
        outcomes: list[dict[str, Any]] = []
        for upload in uploads:
            name = ""
            try:
                name = corpus.safe_name(upload.filename)
                if (folder / name).exists():
                    name = ""  # the other one's
                    raise UnsupportedFileError(f"{upload.filename!r}: another file of this upload has the same name")
                corpus.copy_limited(upload, folder / name, limit)
            except (UnsupportedFileError, FileTooLargeError) as exc:
                if name:
                    (folder / name).unlink(missing_ok=True)  # what was written before the limit was passed
                outcomes.append({"name": upload.filename, "status": "failed", "source": None, "reason": str(exc)})
                continue
            outcomes.append({"name": upload.filename, "status": "added", "source": f"corpus/{name}", "reason": ""})
        return outcomes

    def delete(self, name: str, *, key: str | None) -> dict[str, Any]:
        """Remove knowledge base ``name``: its index and its own corpus folder (folders it was built from
        elsewhere are left alone). The default one cannot be removed."""
        self.default.check_key(key)
        if name == DEFAULT_KB:
            raise ConflictError("the default knowledge base cannot be removed (it is the settings' own index)")
        kb = find_kb(self.settings, name)
        folder = Path(self.settings.index.kbs_dir) / kb.name
        with self._lock:
            service = self._services.pop(kb.name, None)
            trash = folder.with_name(f".deleted-{secrets.token_hex(4)}-{kb.name}")
            os.replace(folder, trash)  # gone at once for every request; the files are removed after
        if service is not None and service.live.ready:
            service.pipeline().close()
        shutil.rmtree(trash, ignore_errors=True)
        return {"deleted": kb.name}
