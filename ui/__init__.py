"""The Gradio web UI over the `rag` package, mounted in the FastAPI app by ``mount_ui``."""

from __future__ import annotations

from ui.app import build_ui, mount_ui

__all__ = ["build_ui", "mount_ui"]
