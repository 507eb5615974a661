"""The learned reader: a small span-extraction model (fine-tuned m3e-small, int8 ONNX) that reads passages and
returns the answer span with a calibrated probability. The windowing and span decoding here are the ones the
training tool uses, so serving reads exactly as the model was trained and measured."""

from __future__ import annotations

import dataclasses
import json
import math
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rag.backends.onnx_graph import cpu_session
from rag.errors import BackendUnavailableError
from rag.focus import focus
from rag.machine import available_cpus
from rag.padding import right_padded
from rag.text import credit_spans
from rag.types import ReaderSpan

# A short answer never runs across a sentence end or a line break.
_STOP_CODES = np.array([ord(c) for c in "。！？!?；;\n"], dtype=np.uint32)
CLS_ID = 101
SEP_ID = 102
PAD_ID = 0
# The shipped model (weights, tokenizer, reader.json with window sizes and calibration, its card) sits in the
# checkout's models/reader; an installed copy elsewhere (the Docker image) names it with RAG_READER__MODEL_DIR.
SHIPPED_READER = Path(__file__).resolve().parents[2] / "models" / "reader"


@dataclass(frozen=True, slots=True)
class Window:
    """One model input: ``[CLS] question [SEP] passage slice [SEP]``, with the character span of each passage
    token in the passage, so a predicted span is an exact span of the passage text."""

    input_ids: list[int]
    token_type_ids: list[int]
    context_start: int  # position of the first passage token in ``input_ids``
    offsets: list[tuple[int, int]]  # character span of passage token k (at position context_start + k)
    passage: int = 0  # which of the read passages

    def position_of(self, char_start: int, char_end: int) -> tuple[int, int] | None:
        """Token positions of the span ``char_start:char_end`` when this window holds all of it."""
        if not self.offsets or char_start < self.offsets[0][0] or char_end > self.offsets[-1][1]:
            return None
        s = next((k for k, (_, b) in enumerate(self.offsets) if b > char_start), None)
        e = next((k for k in range(len(self.offsets) - 1, -1, -1) if self.offsets[k][0] < char_end), None)
        if s is None or e is None or e < s:
            return None
        return s + self.context_start, e + self.context_start


def question_ids(tokenizer: Any, question: str, *, max_question: int) -> list[int]:
    return list(tokenizer.encode(question, add_special_tokens=False).ids[:max_question])


def passage_windows(
    q_ids: list[int], tokenizer: Any, passage: str, *, max_length: int, stride: int, index: int = 0
) -> list[Window]:
    """Slide over the passage: each window holds as many passage tokens as fit after the question, and
    consecutive windows overlap by ``stride`` tokens (at most half a window), so an answer near a cut is whole
    in one of them."""
    enc = tokenizer.encode(passage, add_special_tokens=False)
    ids, offsets = list(enc.ids), list(enc.offsets)
    if not ids:
        return []
    room = max_length - len(q_ids) - 3
    if room < 16:
        raise ValueError(f"max_length {max_length} leaves no room after a {len(q_ids)}-token question")
    head = [CLS_ID, *q_ids, SEP_ID]
    windows: list[Window] = []
    begin = 0
    while True:
        piece = ids[begin : begin + room]
        windows.append(
            Window(
                input_ids=[*head, *piece, SEP_ID],
                token_type_ids=[0] * len(head) + [1] * (len(piece) + 1),
                context_start=len(head),
                offsets=offsets[begin : begin + room],
                passage=index,
            )
        )
        if begin + room >= len(ids):
            return windows
        begin += max(room - stride, room // 2)  # the overlap never exceeds half a window


def batch_arrays(windows: Sequence[Window]) -> dict[str, np.ndarray[Any, np.dtype[np.int64]]]:
    """Right-padded ``input_ids``, ``token_type_ids`` and ``attention_mask`` of a batch of windows."""
    return {
        "input_ids": right_padded([w.input_ids for w in windows]),
        "token_type_ids": right_padded([w.token_type_ids for w in windows]),
        "attention_mask": right_padded([[1] * len(w.input_ids) for w in windows]),
    }


@dataclass(frozen=True, slots=True)
class Barriers:
    """Where a span may not go in one window's passage tokens: ``blocked`` tokens (sentence ends, news
    credits) and ``breaks`` (a line break or sentence end just before the token)."""

    blocked: np.ndarray[Any, np.dtype[np.bool_]]
    breaks: np.ndarray[Any, np.dtype[np.bool_]]


def span_barriers(window: Window, passage: str, credits: Sequence[tuple[int, int]] = ()) -> Barriers:
    """The barriers of ``window`` over ``passage``: an answer span stays inside one sentence and outside the
    item's credits (bylines, editors, sources: ``rag.text.credit_spans``)."""
    if not window.offsets:
        return Barriers(np.zeros(0, dtype=bool), np.zeros(0, dtype=bool))
    spans = np.asarray(window.offsets, dtype=np.int64)
    a, b = spans[:, 0], spans[:, 1]
    # stops[c]: sentence ends and line breaks among the passage's first c characters
    codes = np.frombuffer(passage.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32)  # one a character
    stops = np.concatenate(([0], np.cumsum(np.isin(codes, _STOP_CODES))))
    blocked = stops[b] > stops[a]
    for x, y in credits:
        blocked |= (x < b) & (a < y)
    breaks = np.zeros(len(a), dtype=bool)
    breaks[1:] = stops[a[1:]] > stops[np.minimum(b[:-1], a[1:])]  # between the previous token's end and this one
    return Barriers(blocked, breaks)


def best_span(
    window: Window,
    start_logits: Sequence[float],
    end_logits: Sequence[float],
    *,
    max_answer: int,
    barriers: Barriers | None = None,
) -> tuple[int, int, float] | None:
    """The passage-token span (positions, inclusive) with the highest start + end logit, and its margin over
    the window's no-answer score (the ``[CLS]`` start + end); with ``barriers``, only spans that cross none.
    Ties go to the earliest start, then the shortest span."""
    s = np.asarray(start_logits, dtype=np.float64)
    e = np.asarray(end_logits, dtype=np.float64)
    lo, hi = window.context_start, window.context_start + len(window.offsets)
    if hi <= lo or max_answer < 1:
        return None
    n = hi - lo
    width = min(max_answer, n)
    # band[i, d] = start i + end i + d: only the spans a window can hold, not every (i, j) pair
    ends = np.concatenate((e[lo:hi], np.full(width - 1, -np.inf)))
    band = s[lo:hi, None] + np.lib.stride_tricks.sliding_window_view(ends, width)
    if barriers is not None:
        # span i..j holds no blocked token and no break after its first token
        blocked = np.concatenate(([0], np.cumsum(barriers.blocked), np.full(width - 1, n + 1)))
        breaks = np.concatenate((np.cumsum(barriers.breaks), np.full(width - 1, n + 1)))
        window_view = np.lib.stride_tricks.sliding_window_view
        band[window_view(blocked[1:], width) > blocked[:n, None]] = -np.inf
        band[window_view(breaks, width) > breaks[:n, None]] = -np.inf
    flat = int(np.argmax(band))
    a, d = divmod(flat, width)
    if not np.isfinite(band[a, d]):
        return None
    return a + lo, a + d + lo, float(band[a, d] - (s[0] + e[0]))


def decode_best(
    windows: Sequence[Window],
    starts: Any,
    ends: Any,
    passages: Sequence[str],
    *,
    max_answer: int,
    question: str | None = None,
) -> ReaderSpan | None:
    """The best span over all windows (highest margin), as characters of its passage; probability 0 until
    calibrated. With the ``question``, spans keep inside a sentence and out of the credits (``span_barriers``)."""
    credits = [credit_spans(p, question) for p in passages] if question is not None else []
    best: tuple[float, Window, int, int] | None = None
    for w, s, e in zip(windows, starts, ends, strict=True):
        barriers = span_barriers(w, passages[w.passage], credits[w.passage]) if question is not None else None
        found = best_span(w, s, e, max_answer=max_answer, barriers=barriers)
        if found is not None and (best is None or found[2] > best[0]):
            best = (found[2], w, found[0], found[1])
    if best is None:
        return None
    margin, w, a, b = best
    start, end = w.offsets[a - w.context_start][0], w.offsets[b - w.context_start][1]
    return ReaderSpan(w.passage, start, end, passages[w.passage][start:end], margin, 0.0)


def calibrate(margin: float, scale: float, bias: float) -> float:
    """The probability that a span with this margin is right (Platt scaling fitted on held-out questions)."""
    z = max(-60.0, min(60.0, scale * margin + bias))
    return 1.0 / (1.0 + math.exp(-z))


class OnnxReader:
    """Reads passages with the exported reader in ONNX Runtime; loads its model on first use."""

    def __init__(
        self, model_dir: str | Path = SHIPPED_READER, *, threads: int | None = None, focus_windows: int = 1
    ) -> None:
        self.model_dir = Path(model_dir)
        config_file = self.model_dir / "reader.json"
        if not config_file.is_file():
            raise BackendUnavailableError(
                f"no reader model at {self.model_dir} (reader.json missing): train one with `rag reader train`, "
                "or set RAG_READER__ENABLED=false"
            )
        self.config: dict[str, Any] = json.loads(config_file.read_text(encoding="utf-8"))
        self.max_length = int(self.config["max_length"])
        self.stride = int(self.config["stride"])
        self.max_question = int(self.config["max_question"])
        self.max_answer = int(self.config["max_answer"])
        self.scale, self.bias = (float(x) for x in self.config["calibration"])
        self.threshold = float(self.config.get("threshold", 0.5))  # chosen on held-out questions; settings may override
        self.threads = threads or min(4, available_cpus())  # windows read at once, a core each
        # > 0: read only the best sentences of a passage, as many as fit in this many windows (rag.focus);
        # 0: read every window of every passage.
        self.focus_windows = focus_windows
        self._session: Any = None
        self._tokenizer: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._loading = threading.Lock()  # concurrent first questions load the model once

    def _load(self) -> None:
        with self._loading:
            if self._session is None:
                self._load_model()

    def _load_model(self) -> None:
        try:
            import onnxruntime  # noqa: F401  (checked here, so the error names the extra to install)
            from tokenizers import Tokenizer as HfTokenizer
        except ImportError as exc:  # pragma: no cover - both are dependencies of the package
            raise BackendUnavailableError(
                f"the reader needs onnxruntime and tokenizers: pip install 'rag-zh-reports[onnx]' ({exc})"
            ) from exc
        # One thread a run, and windows read side by side on ``threads`` of them: as fast for one question as
        # one window at a time on all cores, and no core waits on another's share of a small matrix product when
        # concurrent requests read (seed corpus, top 5: p50 62.5 against 60.7 ms, 19.8 against 15.6 reads/s
        # from 4 threads; BENCHMARKS.md). The session is thread-safe; the pool is shared by every request.
        model = self.model_dir / str(self.config.get("model_file", "reader.onnx"))
        self._tokenizer = HfTokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self._session = cpu_session(model, threads=1)
        if self.threads > 1:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="reader")

    def windows(self, question: str, passages: Sequence[str]) -> list[Window]:
        if self._session is None:
            self._load()
        q = question_ids(self._tokenizer, question, max_question=self.max_question)
        out: list[Window] = []
        for k, p in enumerate(passages):
            out.extend(passage_windows(q, self._tokenizer, p, max_length=self.max_length, stride=self.stride, index=k))
        return out

    def read(self, question: str, passages: Sequence[str]) -> ReaderSpan | None:
        """The best span over all passages, or None when there is nothing to read. With ``focus_windows``, a
        passage longer than that many windows is read as its best sentences, and the span mapped back to it."""
        if self.focus_windows <= 0:
            return self._read(question, passages)
        if self._session is None:
            self._load()
        q = question_ids(self._tokenizer, question, max_question=self.max_question)
        room = self.max_length - len(q) - 3
        # Each passage is read on its own, whole when it fits: sentences of two news items read together lose
        # which item they belong to, and a short item trimmed loses its context (news_dev: 0.035 of answers
        # wrong but grounded read whole, 0.058 read together, 0.082 trimmed to half a window; BENCHMARKS.md).
        # A piece may tokenise one token longer at its edges.
        budget = room * self.focus_windows - 4
        focused = [focus(question, [p], budget=budget, length=self._length) for p in passages]
        kept = [k for k, f in enumerate(focused) if f.text]
        if not kept:
            return None
        span = self._read(question, [focused[k].text for k in kept])
        if span is None:
            return None
        where = focused[kept[span.passage]].source(span.start, span.end)
        if where is None:
            return None
        _, start, end = where
        return dataclasses.replace(span, passage=kept[span.passage], start=start, end=end)

    def _length(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def _logits(self, window: Window) -> tuple[Any, Any]:
        s, e = self._session.run(["start_logits", "end_logits"], batch_arrays([window]))
        return s[0], e[0]

    def _read(self, question: str, passages: Sequence[str]) -> ReaderSpan | None:
        windows = self.windows(question, passages)
        if not windows:
            return None
        # One window a run: as fast as any batch size measured (the attention's working set stays in cache:
        # top 5 seed passages, 8 windows, 104 ms in one batch, 67 ms one at a time; BENCHMARKS.md), and a
        # window's logits never depend on the others read with it (int8 activation scales are per run).
        runs = map if self._pool is None or len(windows) == 1 else self._pool.map
        logits = list(runs(self._logits, windows))
        starts = [s for s, _ in logits]
        ends = [e for _, e in logits]
        span = decode_best(windows, starts, ends, passages, max_answer=self.max_answer, question=question)
        if span is None:
            return None
        return dataclasses.replace(span, probability=calibrate(span.margin, self.scale, self.bias))
