"""The live index behind the service: its pipeline loaded once, swapped for a new one when the index changes
on disk, with the write lock that lets one index change run at a time.

Readers take ``live.current()`` and keep that ``Pipeline`` for the whole request, so a swap never changes the
index under a request in flight; the old pipeline's store is retired (its connections close once idle). The
embedder (the expensive part) is loaded once and shared by every pipeline.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from rag.errors import IndexCorruptError, IndexNotFoundError, NotReadyError, RAGError
from rag.index import store
from rag.pipeline import Pipeline

log = logging.getLogger(__name__)
T = TypeVar("T")

CHECK_INTERVAL_S = 1.0  # how often a request may look at index/CURRENT for a build published beside the server


class LiveIndex:
    """Holds the current ``Pipeline``; reloads it when ``index/CURRENT`` names another build.

    ``open_pipeline(build)`` loads a whole pipeline (model included) on the live build (``None``) or on
    ``build``; ``reopen(old)`` opens the live build with ``old``'s embedders (refusing a build made with other
    settings); ``recover()`` puts right what a crash left in the corpus, before the first read."""

    def __init__(
        self,
        index_dir: Path,
        *,
        open_pipeline: Callable[[Path | None], Pipeline],
        reopen: Callable[[Pipeline], Pipeline],
        recover: Callable[[], object] = lambda: None,
        check_interval_s: float = CHECK_INTERVAL_S,
    ) -> None:
        self.index_dir = index_dir
        self._open, self._reopen, self._recover = open_pipeline, reopen, recover
        self.check_interval_s = check_interval_s
        self.error: str | None = None
        self.fallback: dict[str, str] | None = None  # the live build is damaged and an earlier one is served
        self.damaged: str | None = None  # files of the loaded build changed on disk while it was served
        self.reloads = 0
        self._pipeline: Pipeline | None = None
        self._build = ""  # the content of CURRENT the pipeline was opened from
        self._checked_at = 0.0
        self._swap_lock = threading.Lock()  # one reload at a time
        self.write_lock = threading.Lock()  # one index write (upload, delete) at a time

    # --- loading -------------------------------------------------------------------------------------------

    def load(self) -> None:
        """Build the first pipeline (model included); on failure keep the message for ``/ready``."""
        try:
            self._recover()  # before the first read: a crash mid-upload leaves nothing half there
            build = self._read_pointer()
            try:
                pipeline = self._open(None)
            except IndexCorruptError as exc:
                pipeline = self._previous_build(build, exc)
        except RAGError as exc:
            self.error = str(exc)
            log.error("the index could not be loaded: %s", exc)
            return
        except Exception as exc:  # the model or a backend failed: report it on /ready rather than die silently
            self.error = f"{type(exc).__name__}: {exc}"
            log.exception("the pipeline could not be loaded")
            return
        with self._swap_lock:
            self._pipeline, self._build, self.error = pipeline, build, None
            self._checked_at = time.monotonic()
        log.info("serving index %s (build %s)", self.index_dir, build)

    def _previous_build(self, damaged: str, error: IndexCorruptError) -> Pipeline:
        """The newest earlier build that loads, when the live one is damaged; it says so on ``/ready``."""
        for build in store.finished_builds(self.index_dir):
            if build.name == damaged:
                continue
            try:
                pipeline = self._open(build)
            except RAGError as exc:
                log.warning("earlier build %s does not load either: %s", build.name, exc)
                continue
            self.fallback = {"damaged_build": damaged, "serving_build": build.name, "reason": str(error)}
            log.error("build %s is damaged (%s); serving the earlier build %s", damaged, error, build.name)
            return pipeline
        raise error

    @property
    def ready(self) -> bool:
        return self._pipeline is not None

    def describe(self) -> dict[str, Any]:
        """What is being served: index folder, build, counts and model."""
        pipeline = self._pipeline
        if pipeline is None:
            return {}
        return {
            "index": self.index_dir.name,  # the folder, not where it sits on the server
            **pipeline.index.manifest.summary(),
            "backend": pipeline.default_backend,
            **({"fallback": self.fallback} if self.fallback else {}),
        }

    def current(self) -> Pipeline:
        """The pipeline to use for one request, after at most one cheap look a second at ``index/CURRENT`` (a
        new build is switched to) and at the loaded build's files (a damaged one is not answered from)."""
        if self._pipeline is None:
            raise NotReadyError(self.error or "the index and model are still loading; retry in a few seconds")
        if time.monotonic() - self._checked_at >= self.check_interval_s:
            self.refresh()
        if self.damaged is not None:
            raise IndexCorruptError(self.damaged)
        pipeline = self._pipeline
        assert pipeline is not None
        return pipeline

    def refresh(self) -> None:
        """Switch to the build ``index/CURRENT`` names if it changed; else check the loaded build's files."""
        pipeline = self._pipeline
        if pipeline is None:
            return
        self._checked_at = time.monotonic()
        try:
            changed = self._read_pointer() != self._build
        except IndexNotFoundError:
            changed = False  # a pointer being replaced or removed: keep serving what is loaded
        if changed:
            try:
                self.reload()
                return
            except RAGError as exc:  # a damaged or mismatched new build: keep answering from the loaded one
                log.error("the new index build could not be loaded, still serving the previous one: %s", exc)
        files = pipeline.index.changed_files()
        if files and self.damaged is None:
            self.mark_damaged(
                f"files of the live build {pipeline.index.path.name} changed on disk while it was served: "
                f"{', '.join(files)} — run `rag index verify`, then `rag index build --rebuild` "
                "(the server switches to the new build by itself)"
            )

    def mark_damaged(self, reason: str) -> None:
        """Stop answering from the loaded build (``/ready`` says 503 with ``reason``) until a new one is
        published."""
        self.damaged = reason
        log.error("the live index is damaged, not answering from it: %s", reason)

    def reload(self) -> Pipeline:
        """Open the build ``index/CURRENT`` names now and make it current (the embedder is reused)."""
        with self._swap_lock:
            old = self._pipeline
            if old is None:
                raise NotReadyError(self.error or "the index and model are still loading")
            build = self._read_pointer()
            if build == self._build:
                return old
            self._pipeline = self._reopen(old)
            # Requests still holding the old pipeline finish on it; retiring its store closes each of its
            # SQLite handles as soon as it is idle, so the replaced build holds no file open once pruned.
            old.index.close()
            self._build = build
            self.fallback = self.damaged = None  # a sound build is served again
            self.reloads += 1
            log.info("switched to index build %s", build)
            return self._pipeline

    def write(self, change: Callable[[Pipeline], T]) -> tuple[T, Pipeline]:
        """Run an index write (``change`` gets the current pipeline) alone, switch to the build it published,
        and return its result with the new pipeline."""
        with self.write_lock:
            try:
                result = change(self.current())
            except BaseException:
                with contextlib.suppress(RAGError):
                    self.reload()  # a failed write may still have published a build (without the bad file)
                raise
            return result, self.reload()

    def _read_pointer(self) -> str:
        return store.current_build(self.index_dir).name
