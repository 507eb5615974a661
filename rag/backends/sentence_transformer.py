"""Dense embeddings through sentence-transformers; resolves the default model shipped in a wheel."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.errors import BackendUnavailableError, ConfigError
from rag.models import resolve_model

if TYPE_CHECKING:
    from rag.protocols import FloatArray


class SentenceTransformerEmbedder:
    """A sentence-transformers model producing L2-normalised float32 vectors."""

    backend = "sentence-transformers"

    def __init__(self, model: str, *, device: str = "cpu", batch_size: int = 32, query_prefix: str = "") -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging
        except ImportError as exc:
            raise BackendUnavailableError(
                f"the sentence-transformers embedder needs torch and sentence-transformers ({exc.name} is missing): "
                "`pip install -e '.[torch]'` (CPU torch: `pip install torch==2.13.0` first); the default "
                "RAG_EMBEDDER__BACKEND=onnx needs neither once its export is cached"
            ) from exc

        # The per-load "Loading weights" bar is noise in a CLI or a server log.
        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        self.name = model
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        path = resolve_model(model)
        try:
            self._model: Any = SentenceTransformer(path, device=device)
        except OSError as exc:
            raise ConfigError(
                f"cannot load embedding model {model!r} ({exc}); give a local folder or a model that is in the "
                "Hugging Face cache (downloads are off: HF_HUB_OFFLINE=1)"
            ) from exc
        dim = self._model.get_embedding_dimension()
        if dim is None:
            dim = int(self._model.encode(["维度"], convert_to_numpy=True).shape[1])
        self.dim = int(dim)

    def embed(self, texts: Sequence[str], *, is_query: bool = False, show_progress: bool = False) -> FloatArray:
        """Encode ``texts``; batches are sorted by length inside sentence-transformers to cut padding."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        items = [self.query_prefix + t for t in texts] if is_query and self.query_prefix else list(texts)
        vectors = self._model.encode(
            items,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
