"""The Gradio web UI over the `rag` package, mounted in the FastAPI app by ``mount_ui``. Gradio is imported on
first use of ``build_ui`` / ``mount_ui``: `rag serve` imports this package before the API is ready."""

from __future__ import annotations

from typing import Any

__all__ = ["build_ui", "mount_ui"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")
