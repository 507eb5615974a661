"""Building the index: a plan from the last manifest, pure steps over batches, a short atomic build, checks.

``plan`` diffs the previous manifest against the corpus; ``steps`` are the batch functions (load → drop
duplicates → chunk → embed → write); ``vectors`` owns ``vectors.npy`` and the FAISS index built from it;
``build`` runs them into a temporary build and publishes it; ``verify`` checks a finished one.
"""

from __future__ import annotations

from rag.indexing.build import BuildReport, build_index
from rag.indexing.plan import SourceDiff, VectorPlan, can_reuse, diff_sources, plan_vectors
from rag.indexing.steps import EMBED_GROUP
from rag.indexing.vectors import TRAIN_PER_CELL, VECTOR_SLICE, VectorFile, build_vector_index, choose_vector_index
from rag.indexing.verify import index_status, stale_sources, verify_index

__all__ = [
    "EMBED_GROUP",
    "TRAIN_PER_CELL",
    "VECTOR_SLICE",
    "BuildReport",
    "SourceDiff",
    "VectorFile",
    "VectorPlan",
    "build_index",
    "build_vector_index",
    "can_reuse",
    "choose_vector_index",
    "diff_sources",
    "index_status",
    "plan_vectors",
    "stale_sources",
    "verify_index",
]
