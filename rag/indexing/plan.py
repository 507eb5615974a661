"""What a build must do, decided from the previous build's manifest alone: a pure diff, no files opened."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class SourceDiff:
    """Corpus files compared with the ones a build indexed, each list sorted by path."""

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class VectorPlan:
    """Which vectors of a new build are copied from the previous one and which rows must be embedded."""

    reuse: list[tuple[int, int, int]] = field(default_factory=list)  # (new first row, old first row, count)
    embed: list[int] = field(default_factory=list)  # rows to embed, in row order
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0


def can_reuse(manifest: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether a build described by ``manifest`` can lend its vectors to one with the ``wanted`` settings.

    The lexical index is rebuilt by every build, so only the embedder and the chunking decide.
    """
    if manifest.get("chunking") != wanted["chunking"]:
        return False
    return bool({k: v for k, v in manifest["embedder"].items() if k != "dim"} == wanted["embedder"])


def diff_sources(indexed: Mapping[str, Mapping[str, Any]], current: Mapping[str, str | None]) -> SourceDiff:
    """Compare the manifest's ``sources`` with the files found now (path → SHA-256).

    A file that was not indexed is added whatever its hash, so callers may leave it unhashed (``None``).
    """
    changed = [rel for rel, sha in current.items() if rel in indexed and sha != indexed[rel]["sha256"]]
    unchanged = [rel for rel, sha in current.items() if rel in indexed and sha == indexed[rel]["sha256"]]
    return SourceDiff(
        added=sorted(set(current) - set(indexed)),
        changed=sorted(changed),
        unchanged=sorted(unchanged),
        removed=sorted(set(indexed) - set(current)),
    )


def plan_vectors(previous: Mapping[str, Mapping[str, Any]], documents: Mapping[str, Mapping[str, Any]]) -> VectorPlan:
    """Diff the previous manifest's ``documents`` against the new build's (both: id → content_hash, chunks,
    first_row). A document keeps its vectors when its text and its chunk count are the same; the others'
    rows are embedded. Both lists follow the new build's row order."""
    reuse: list[tuple[int, int, int]] = []
    embed: list[int] = []
    added = changed = 0
    for doc_id, new in documents.items():
        old = previous.get(doc_id)
        if old and old["content_hash"] == new["content_hash"] and old["chunks"] == new["chunks"]:
            reuse.append((new["first_row"], old["first_row"], new["chunks"]))
            continue
        embed.extend(range(new["first_row"], new["first_row"] + new["chunks"]))
        if old:
            changed += 1
        else:
            added += 1
    return VectorPlan(
        reuse=reuse,
        embed=embed,
        added=added,
        changed=changed,
        unchanged=len(reuse),
        removed=len(set(previous) - set(documents)),
    )
