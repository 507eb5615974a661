"""What every `rag` command shares: the consoles, the common options, settings loading and JSON output."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console

from rag.errors import ConfigError
from rag.settings import Settings

# soft_wrap: lines are never broken at the terminal width, so piped output and error messages stay one line each.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

IndexOpt = Annotated[Path | None, typer.Option("--index", help="Index directory (default: settings, `index/`).")]
TopKOpt = Annotated[int | None, typer.Option("--top-k", min=1, max=100, help="Passages to return.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
KbOpt = Annotated[
    str | None,
    typer.Option("--kb", help="Knowledge base (default: `default`, the settings' index and corpus; `rag kb list`)."),
]


def load_settings(index: Path | None = None, *, kb: str | None = None) -> Settings:
    """The settings from the RAG_* environment, for the knowledge base ``kb`` (its index and corpus)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigError(f"invalid RAG_* setting: {exc}") from exc
    if kb:
        from rag.kbs import find_kb

        settings = find_kb(settings, kb).settings(settings)
    if index is not None:
        settings.index.dir = index
    return settings


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
