"""Where a build's two heavy steps run — embedding and BM25 tokenisation: in this machine's processes
(``LocalEngine``) or on a Ray cluster (``RayEngine``: embedding as Ray Data ``map_batches`` over an actor
pool that loads the model once per actor, tokenisation as Ray tasks). Both call the same step functions on
the same inputs, so they write the same index; nothing of Ray is imported unless it is asked for."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from rag.errors import BackendUnavailableError
from rag.indexing import steps
from rag.protocols import Embedder

RAY_INSTALL_HINT = "pip install -e '.[ray]'"
TOKENIZE_TASK = 256  # texts a tokenisation task takes
EMBED_BATCH = 256  # texts an embedding actor takes at a time (small enough to keep every actor busy)
TASKS_IN_FLIGHT_PER_WORKER = 4  # tokenisation tasks submitted ahead of the one being read, per worker

Tokenizer = Callable[[str], list[str]]
TokenLists = Callable[[Iterable[str], Tokenizer], AbstractContextManager[Iterator[list[str]]]]


class Engine(Protocol):
    """Runs the embedding and the tokenisation of a build."""

    name: str

    def embed(
        self, texts: Sequence[str], rows: Sequence[int], embedder: Embedder
    ) -> Iterator[tuple[Sequence[int], np.ndarray[Any, Any]]]:
        """The vectors of ``texts[r]`` for ``rows``, a group of rows at a time (any order of groups)."""
        ...

    def token_lists(self) -> TokenLists | None:
        """How the lexical index gets each text's tokens, in order (None: its own worker processes)."""
        ...

    def close(self) -> None: ...


class LocalEngine:
    """This machine: the build's embedder, and the lexical backend's own tokeniser processes."""

    name = "local"

    def embed(
        self, texts: Sequence[str], rows: Sequence[int], embedder: Embedder
    ) -> Iterator[tuple[Sequence[int], np.ndarray[Any, Any]]]:
        for group in steps.embed_groups(rows):
            yield group, steps.embed_batch([texts[r] for r in group], embedder)

    def token_lists(self) -> TokenLists | None:
        return None

    def close(self) -> None:
        pass


class _EmbedActor:
    """A Ray actor of the embedding stage: its own copy of the documents' embedder, loaded once."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        from rag.factories import create_embedder
        from rag.settings import EmbedderSettings

        # One CPU per actor (ONNX Runtime's threads), or the GPU Ray gave it (sentence-transformers on cuda).
        self._embedder = create_embedder(EmbedderSettings(**cfg), threads=1)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        vectors = steps.embed_batch([str(t) for t in batch["text"]], self._embedder)
        return {"row": batch["row"], "vector": vectors}


@dataclass(frozen=True, slots=True)
class ActorPlan:
    """How the embedding actors run: the embedder settings each loads, what each asks of a node, how many."""

    cfg: dict[str, Any]
    num_cpus: float
    num_gpus: float
    concurrency: int


def plan_actors(cfg: dict[str, Any], resources: dict[str, float], workers: int = 0) -> ActorPlan:
    """The embedding actors for a cluster of ``resources`` (``ray.cluster_resources()``). With GPUs, the
    reference model (sentence-transformers) runs one actor per GPU on it (``device`` cuda unless set to
    another accelerator); the int8 ONNX export is a CPU path (ONNX Runtime's int8 kernels are CPU ones), so it
    keeps one actor per CPU and leaves the GPUs alone. ``workers`` caps the actors (0: all the cluster has)."""
    gpus = int(resources.get("GPU", 0))
    if gpus and cfg.get("backend") == "sentence-transformers":
        device = str(cfg.get("device") or "cpu")
        return ActorPlan(
            {**cfg, "device": "cuda" if device == "cpu" else device},
            num_cpus=1,
            num_gpus=1,
            concurrency=min(workers or gpus, gpus),
        )
    return ActorPlan(cfg, num_cpus=1, num_gpus=0, concurrency=workers or max(1, int(resources.get("CPU", 1))))


def _tokenize_task(tokenizer: Tokenizer, texts: list[str]) -> list[list[str]]:
    return [tokenizer(text) for text in texts]


class RayEngine:
    """A Ray cluster (``address``; None: a local one started here, stopped by ``close``). ``embedder_cfg`` is
    what each embedding actor loads its model from (the build's document settings, as a dict); ``workers``
    the actors and the tokenisation parallelism (0: the cluster's CPUs)."""

    name = "ray"

    def __init__(self, *, address: str | None, embedder_cfg: dict[str, Any], workers: int = 0) -> None:
        try:
            import ray
        except ImportError as exc:
            raise BackendUnavailableError(
                f"`--engine ray` needs Ray, which is not installed ({exc}); run `{RAY_INSTALL_HINT}`"
            ) from exc
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            ray.init(address=address or None, include_dashboard=False, log_to_driver=False, configure_logging=False)
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        self.workers = workers or max(1, int(resources.get("CPU", 1)))  # tokenisation tasks at once
        self.actors = plan_actors(embedder_cfg, resources, workers)

    def embed(
        self, texts: Sequence[str], rows: Sequence[int], embedder: Embedder
    ) -> Iterator[tuple[Sequence[int], np.ndarray[Any, Any]]]:
        import ray.data

        items = [{"row": int(r), "text": texts[r]} for r in rows]
        dataset = ray.data.from_items(items, override_num_blocks=max(1, min(len(items) // 64, 4 * self.workers)))
        plan = self.actors
        vectors = dataset.map_batches(
            _EmbedActor,
            fn_constructor_kwargs={"cfg": plan.cfg},
            batch_size=EMBED_BATCH,
            concurrency=plan.concurrency,
            num_cpus=plan.num_cpus,
            num_gpus=plan.num_gpus,
        )
        for batch in vectors.iter_batches(batch_size=EMBED_BATCH, batch_format="numpy"):
            order = np.argsort(batch["row"], kind="stable")  # write_vectors wants the rows ascending
            yield [int(r) for r in batch["row"][order]], np.asarray(batch["vector"][order], dtype=np.float32)

    def token_lists(self) -> TokenLists | None:
        remote = self._ray.remote(num_cpus=1)(_tokenize_task)
        window = TASKS_IN_FLIGHT_PER_WORKER * self.workers

        @contextmanager
        def token_lists(texts: Iterable[str], tokenizer: Tokenizer) -> Iterator[Iterator[list[str]]]:
            pending: deque[Any] = deque()

            def results() -> Iterator[list[str]]:
                batch: list[str] = []
                for text in texts:
                    batch.append(text)
                    if len(batch) == TOKENIZE_TASK:
                        pending.append(remote.remote(tokenizer, batch))
                        batch = []
                        if len(pending) >= window:
                            yield from self._ray.get(pending.popleft())
                if batch:
                    pending.append(remote.remote(tokenizer, batch))
                while pending:  # in the order the tasks were submitted: the texts' order
                    yield from self._ray.get(pending.popleft())

            try:
                yield results()
            finally:
                for ref in pending:
                    self._ray.cancel(ref)

        return token_lists

    def close(self) -> None:
        if self._started:
            self._ray.shutdown()


def create_engine(name: str, *, address: str | None, embedder_cfg: dict[str, Any], workers: int = 0) -> Engine:
    """The engine a build runs on: ``local`` or ``ray``."""
    if name == "local":
        return LocalEngine()
    if name == "ray":
        return RayEngine(address=address, embedder_cfg=embedder_cfg, workers=workers)
    raise BackendUnavailableError(f"unknown build engine {name!r}: use `local` or `ray`")
