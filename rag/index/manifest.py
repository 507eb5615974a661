"""A build's manifest, typed: what made the build (embedder, chunking, index kinds) and what it holds (counts,
sources, documents, each file's checksum); read, checked against the settings, summarised and written."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from rag.errors import IndexMismatchError

FORMAT_VERSION = 2  # 2: chunks and documents know their pages
# 3: a sharded build (``shards`` listed). Unsharded builds stay 2, so a release from before shards still reads
# them, and refuses a sharded one with its clear "rebuild" message instead of failing on an unknown field.
SHARDED_FORMAT_VERSION = 3
READABLE_VERSIONS = (FORMAT_VERSION, SHARDED_FORMAT_VERSION)
MANIFEST = "manifest.json"


@dataclass(frozen=True, slots=True)
class Counts:
    documents: int
    chunks: int
    characters: int = 0


@dataclass(frozen=True, slots=True)
class Manifest:
    """``manifest.json`` of one build. The nested maps stay JSON-shaped: ``sources`` (corpus file → sha256,
    size, documents), ``documents`` (id → source, content hash, chunks, first row), ``artifacts`` (file within
    the build → size, sha256; empty for builds made before checksums), ``shards`` (rows and folder of each)."""

    format_version: int
    package_version: str
    build_id: str
    built_at: str
    embedder: dict[str, Any]  # backend, model, query_prefix, dim (quantize for onnx)
    chunking: dict[str, Any]
    lexical: dict[str, Any]  # backend, tokenizer version
    vector: dict[str, Any]  # backend, kind and its parameters
    counts: Counts
    corpus: list[str]
    sources: dict[str, dict[str, Any]]
    documents: dict[str, dict[str, Any]]
    failed: list[dict[str, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # A sharded build's shards (``rag.index.shards.Shard``: rows and folder); empty: one index of every chunk.
    shards: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        known = {f.name for f in fields(cls)}  # a field a later release adds is left out, not an error
        return cls(**{**{k: v for k, v in data.items() if k in known}, "counts": Counts(**data["counts"])})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.shards:
            del data["shards"]  # an unsharded build's manifest is what it was before shards
        return data

    @classmethod
    def read(cls, build: Path) -> Manifest:
        """The manifest of ``build``; another format version is refused with the command that fixes it."""
        data: dict[str, Any] = json.loads((build / MANIFEST).read_text(encoding="utf-8"))
        if data.get("format_version") not in READABLE_VERSIONS:
            raise IndexMismatchError(
                f"index format {data.get('format_version')} at {build.parent.name}/{build.name} is not "
                f"{FORMAT_VERSION} — run `rag index build --rebuild`"
            )
        return cls.from_dict(data)

    def write(self, build: Path) -> None:
        (build / MANIFEST).write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2), encoding="utf-8")

    @property
    def dim(self) -> int:
        return int(self.embedder["dim"])

    def check(self, *, embedder: dict[str, Any], chunking: dict[str, Any]) -> None:
        """Refuse a build made with another embedder or chunking than the current settings ask for."""
        # The model decides the vector space; the path that ran it (int8 ONNX or sentence-transformers) is the
        # manifest's to say, and serving follows it for uploads, so one index never mixes paths.
        built = {k: self.embedder.get(k) or "" for k in ("model", "query_prefix")}
        wanted = {k: embedder.get(k) or "" for k in ("model", "query_prefix")}
        if built != wanted:
            raise IndexMismatchError(
                f"the index was built with embedder {built} but the settings ask for {wanted} — "
                "run `rag index build --rebuild` (or set RAG_EMBEDDER__MODEL / __QUERY_PREFIX back)"
            )
        if self.chunking != chunking:
            raise IndexMismatchError(
                f"the index was built with chunking {self.chunking} but the settings ask for {chunking} — "
                "run `rag index build --rebuild` (or unset the RAG_CHUNKING__* settings)"
            )

    def summary(self) -> dict[str, Any]:
        """What a status line shows: build, time, counts, model."""
        return {
            "build": self.build_id,
            "built_at": self.built_at,
            "documents": self.counts.documents,
            "chunks": self.counts.chunks,
            "embedder": self.embedder,
        }
