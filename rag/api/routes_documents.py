"""`/documents`: list and read the indexed documents; upload and delete corpus files (the index follows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from rag.api import documents
from rag.api.deps import KeyDep, LiveDep, PipelineDep
from rag.api.schemas import DocumentDetail, DocumentPage, IndexChange

router = APIRouter(prefix="/documents", tags=["documents"])


@router.get("", response_model=DocumentPage, summary="The indexed documents, a page at a time")
async def list_documents(
    pipeline: PipelineDep,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,  # SQLite integers are 64-bit
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    return await run_in_threadpool(documents.list_documents, pipeline, offset=offset, limit=limit)


@router.get("/{doc_id}", response_model=DocumentDetail, summary="A document's metadata and cleaned text")
async def get_document(doc_id: str, pipeline: PipelineDep) -> dict[str, Any]:
    return await run_in_threadpool(documents.get_document, pipeline, doc_id)


@router.post("", response_model=IndexChange, status_code=201, dependencies=[KeyDep], summary="Add files")
async def upload(
    files: Annotated[list[UploadFile], File(description="Files (.txt .md .html .pdf .docx .jsonl)")], live: LiveDep
) -> dict[str, Any]:
    """Save the files into the corpus folder, update the index incrementally and serve it (no restart).

    One result per file: a file that cannot be added is reported and leaves the corpus as it was; when none
    can be added the request fails with that file's status (415, 413, 422)."""
    uploads = [documents.Upload(f.filename or "", f.file) for f in files]
    (outcomes, report), pipeline = await run_in_threadpool(
        live.write, lambda p: documents.add_documents(live.settings, p, uploads)
    )
    if report is None:
        raise documents.nothing_added(outcomes)
    sources = pipeline.index.manifest["sources"]
    results = [
        {**documents.outcome_dict(o), "documents": sources[o.source]["documents"] if o.source else []} for o in outcomes
    ]
    docs = [documents.summary(pipeline, doc_id) for r in results for doc_id in r["documents"]]
    return {"build": report.build_id, "documents": docs, "files": results, "index": documents.report_dict(report)}


@router.delete("/{doc_id}", response_model=IndexChange, dependencies=[KeyDep], summary="Remove a document's file")
async def delete(doc_id: str, live: LiveDep) -> dict[str, Any]:
    """Delete the source file of a one-file document (not a .jsonl record), update the index and serve it."""
    report, _ = await run_in_threadpool(live.write, lambda p: documents.delete_document(live.settings, p, doc_id))
    return {"build": report.build_id, "documents": [], "deleted": [doc_id], "index": documents.report_dict(report)}
