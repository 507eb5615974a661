"""One finished build opened for reading: its manifest, chunk store, vector and lexical indexes, checked
against the manifest's checksums when opened and watched for damage while served."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag import registry
from rag.errors import IndexCorruptError
from rag.index import shards, store
from rag.index.manifest import Manifest
from rag.index.store import ChunkStore
from rag.protocols import LexicalSearch, VectorSearch


@dataclass(slots=True)
class LoadedIndex:
    """One finished build, opened for reading: manifest, chunk store, vector and lexical indexes."""

    path: Path
    manifest: Manifest
    chunks: ChunkStore
    vectors: VectorSearch
    lexical: LexicalSearch
    stamps: dict[str, tuple[int, int]] = field(default_factory=dict)  # size and mtime of each file when opened
    stop_shards: Callable[[], None] | None = None  # a sharded build's fan-out threads

    @classmethod
    def open(cls, index_dir: Path, *, build: Path | None = None) -> LoadedIndex:
        """The live build of ``index_dir`` (or ``build``), after checking its files against the manifest's
        sizes and checksums (files over ``store.HASH_ON_LOAD_BYTES`` by size only)."""
        build = build or store.current_build(index_dir)
        manifest = Manifest.read(build)
        problems = store.check_artifacts(build, manifest, hash_limit=store.HASH_ON_LOAD_BYTES)
        if problems:
            raise IndexCorruptError(
                f"build {build.name} is damaged: " + "; ".join(problems) + " — run `rag index verify`, "
                "then `rag index build --rebuild`"
            )
        vector_cls = registry.load("vector", manifest.vector["backend"])
        lexical_cls = registry.load("lexical", manifest.lexical["backend"])
        if manifest.shards:
            vectors, lexical, stop = shards.open_shards(
                build,
                [shards.Shard.from_dict(s) for s in manifest.shards],
                load_vectors=vector_cls.load,
                load_lexical=lexical_cls.load,
            )
            return cls(build, manifest, store.ChunkStore(build), vectors, lexical, _stamps(build, manifest), stop)
        vectors = vector_cls.load(build)
        lexical = lexical_cls.load(build) if manifest.counts.chunks else lexical_cls.build([])
        return cls(build, manifest, store.ChunkStore(build), vectors, lexical, _stamps(build, manifest))

    @property
    def size(self) -> int:
        return self.manifest.counts.chunks

    def changed_files(self) -> list[str]:
        """Files of this build changed on disk since it was opened (a build is never rewritten, so any change
        is damage): a few ``stat`` calls, cheap enough to run every second."""
        return [rel for rel, stamp in _stamps(self.path, self.manifest).items() if stamp != self.stamps.get(rel)]

    def close(self) -> None:
        self.chunks.close()
        if self.stop_shards is not None:
            self.stop_shards()


def _stamps(build: Path, manifest: Manifest) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for rel in manifest.artifacts:
        try:
            st = (build / rel).stat()
        except OSError:
            out[rel] = (-1, -1)
            continue
        out[rel] = (st.st_size, st.st_mtime_ns)
    return out
