"""`/kbs`: the knowledge bases (separate corpora, each with its index): list, make one from files, remove one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool

from rag.api.deps import KbsDep, KeyDep, KeyValue
from rag.api.schemas import KnowledgeBaseCreated, KnowledgeBaseInfo, KnowledgeBaseList
from rag.corpus import Upload

router = APIRouter(prefix="/kbs", tags=["knowledge bases"])


@router.get("", response_model=KnowledgeBaseList, summary="The knowledge bases, the default one first")
async def list_kbs(kbs: KbsDep) -> dict[str, Any]:
    return {"kbs": await run_in_threadpool(kbs.describe)}


@router.get("/{name}", response_model=KnowledgeBaseInfo, summary="One knowledge base")
async def get_kb(name: str, kbs: KbsDep) -> dict[str, Any]:
    return await run_in_threadpool(kbs.describe_one, name)


@router.post(
    "", response_model=KnowledgeBaseCreated, status_code=201, dependencies=[KeyDep], summary="Make one from files"
)
async def create_kb(
    name: Annotated[str, Form(description="Its name: letters, digits, Chinese characters, `_ - .` (1–64).")],
    files: Annotated[list[UploadFile], File(description="Its first files (any type `/documents` accepts).")],
    kbs: KbsDep,
    key: KeyValue,
    description: Annotated[str, Form(max_length=500)] = "",
) -> dict[str, Any]:
    """Save the files as a new knowledge base's corpus and build its index; it exists only once that build
    has at least one document (otherwise nothing is left behind and the request fails with each file's
    reason). Ask it with `"kb": name` in `/ask`; add files with `POST /documents?kb=name`."""
    uploads = [Upload(f.filename or "", f.file) for f in files]
    return await run_in_threadpool(lambda: kbs.create(name, uploads, key=key, description=description))


@router.delete("/{name}", dependencies=[KeyDep], summary="Remove a knowledge base, its index and its own files")
async def delete_kb(name: str, kbs: KbsDep, key: KeyValue) -> dict[str, Any]:
    return await run_in_threadpool(kbs.delete, name, key=key)
