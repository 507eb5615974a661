"""`/documents`: list and read the indexed documents; upload and delete corpus files (the index follows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from rag.api.deps import KbsDep, KeyDep, KeyValue
from rag.api.schemas import DocumentDetail, DocumentPage, IndexChange
from rag.corpus import Upload

router = APIRouter(prefix="/documents", tags=["documents"])
KbQuery = Annotated[str | None, Query(description="The knowledge base (`GET /kbs`; default: `default`).")]


@router.get("", response_model=DocumentPage, summary="The indexed documents, a page at a time")
async def list_documents(
    kbs: KbsDep,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,  # SQLite integers are 64-bit
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kb: KbQuery = None,
) -> dict[str, Any]:
    return await run_in_threadpool(lambda: kbs.service(kb).documents(offset=offset, limit=limit))


@router.get("/{doc_id}", response_model=DocumentDetail, summary="A document's metadata and cleaned text")
async def get_document(doc_id: str, kbs: KbsDep, kb: KbQuery = None) -> dict[str, Any]:
    return await run_in_threadpool(lambda: kbs.service(kb).document(doc_id))


@router.post("", response_model=IndexChange, status_code=201, dependencies=[KeyDep], summary="Add files")
async def upload(
    files: Annotated[
        list[UploadFile],
        File(description="Files (.txt .md .html .pdf .docx .doc .wps .xlsx .xls .csv .jsonl .png .jpg .tif)"),
    ],
    kbs: KbsDep,
    key: KeyValue,
    kb: KbQuery = None,
) -> dict[str, Any]:
    """Save the files into the corpus folder, update the index incrementally and serve it (no restart).

    One result per file: a file that cannot be added is reported and leaves the corpus as it was; when none
    can be added the request fails with that file's status (415, 413, 422)."""
    uploads = [Upload(f.filename or "", f.file) for f in files]
    return await run_in_threadpool(lambda: kbs.service(kb).add_files(uploads, key=key))


@router.delete("/{doc_id}", response_model=IndexChange, dependencies=[KeyDep], summary="Remove a document's file")
async def delete(doc_id: str, kbs: KbsDep, key: KeyValue, kb: KbQuery = None) -> dict[str, Any]:
    """Delete the source file of a one-file document (not a .jsonl record), update the index and serve it."""
    return await run_in_threadpool(lambda: kbs.service(kb).delete_document(doc_id, key=key))
