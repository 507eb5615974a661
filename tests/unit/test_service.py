"""The service core without HTTP: ask and its stream, the key on writes, uploads and deletes through the live
index, a build published beside it switched to (the old store retired), damage on disk, and the recovery of an
upload cut short — over a real index built with the tiny hashing embedder."""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path

import pytest

from rag.corpus import Upload, recover_uploads
from rag.errors import IndexCorruptError, NotReadyError, UnauthorizedError
from rag.indexing import build_index
from rag.service import Filters, RagService, build_service
from rag.settings import Settings

KEY = "k"
REPORT = "恒口示范区\n过去的一年,恒口示范区新建标准化厂房3.1万平方米,引进外资企业1户。"


def _settings(tmp_path: Path) -> Settings:
    settings = Settings()
    settings.embedder.backend = "hashing"
    settings.index.dir = tmp_path / "index"
    settings.index.corpus = [tmp_path / "corpus"]
    settings.api.key = KEY
    return settings


@pytest.fixture
def service(tmp_path: Path) -> RagService:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text(REPORT, encoding="utf-8")
    settings = _settings(tmp_path)
    build_index(settings, progress=False)
    svc = build_service(settings)
    svc.live.check_interval_s = 0.0  # look at the index on every request
    svc.live.load()
    return svc


def test_a_service_not_loaded_says_so() -> None:
    svc = build_service(Settings())
    assert svc.status()["status"] == "loading"
    with pytest.raises(NotReadyError):
        svc.ask("恒口示范区新建标准化厂房多少平方米？")


def test_ask_and_its_stream_give_the_same_answer(service: RagService) -> None:
    answer = service.ask("恒口示范区新建标准化厂房多少平方米？")
    assert answer.grounded and answer.short_answer == "3.1万平方米"
    stream = service.ask_stream("恒口示范区新建标准化厂房多少平方米？")
    assert "".join(stream) == stream.answer.answer == answer.answer
    with pytest.raises(RuntimeError, match="iterate"):
        _ = service.ask_stream("恒口示范区新建标准化厂房多少平方米？").answer


def test_filters_restrict_the_passages(service: RagService) -> None:
    assert service.search("标准化厂房", filters=Filters(doc_ids=["nope"])).hits == []
    assert service.search("标准化厂房").hits


def test_writes_need_the_key_and_the_index_follows(service: RagService) -> None:
    upload = Upload("b.txt", io.BytesIO("青山镇\n青山镇2023年新修水渠9公里。".encode()))
    with pytest.raises(UnauthorizedError):
        service.add_files([upload], key=None)
    change = service.add_files([upload], key=KEY)
    assert [f["status"] for f in change["files"]] == ["added"] and change["index"]["added"] == 1
    assert service.documents()["total"] == 2
    assert service.ask("青山镇2023年新修水渠多少公里？").short_answer == "9公里"
    doc_id = change["files"][0]["documents"][0]
    assert service.delete_document(doc_id, key=KEY)["deleted"] == [doc_id]
    assert service.documents()["total"] == 1


def test_a_build_published_beside_is_switched_to_and_the_old_store_retired(service: RagService, tmp_path: Path) -> None:
    old = service.pipeline()
    (tmp_path / "corpus" / "b.txt").write_text("青山镇\n青山镇新修水渠9公里。", encoding="utf-8")
    build_index(_settings(tmp_path), progress=False)
    new = service.pipeline()
    assert new is not old and new.index.path != old.index.path and service.live.reloads == 1
    assert old.index.chunks._retired and not old.index.chunks._idle  # no connection left open
    assert old.index.chunks.count_chunks() > 0  # a request still holding it can finish
    assert service.status()["build"] == new.index.path.name


def test_a_file_of_the_live_build_changed_on_disk_is_damage(service: RagService) -> None:
    store_file = service.pipeline().index.path / "store.sqlite"
    time.sleep(0.01)
    store_file.write_bytes(store_file.read_bytes())  # same bytes, but rewritten: builds never are
    status = service.status()
    assert status["status"] == "damaged" and "store.sqlite" in status["detail"]
    with pytest.raises(IndexCorruptError, match="rag index verify"):  # a 503 at the HTTP edge
        service.ask("恒口示范区新建标准化厂房多少平方米？")


def test_recovery_undoes_an_upload_the_index_does_not_hold(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("old", encoding="utf-8")
    (corpus / ".replaced-1-a.txt").write_text("old", encoding="utf-8")
    (corpus / "a.txt").write_text("new", encoding="utf-8")
    (corpus / "b.txt").write_text("new b", encoding="utf-8")
    (corpus / ".upload-2-c.txt").write_text("half", encoding="utf-8")
    steps = [
        {"tmp": ".upload-2-c.txt"},
        {
            "name": "a.txt",
            "rel": "corpus/a.txt",
            "sha256": hashlib.sha256(b"new").hexdigest(),
            "backup": ".replaced-1-a.txt",
        },
        {"name": "b.txt", "rel": "corpus/b.txt", "sha256": hashlib.sha256(b"new b").hexdigest(), "backup": None},
    ]
    (corpus / ".upload-journal-x.jsonl").write_text("".join(json.dumps(s) + "\n" for s in steps) + '{"na', "utf-8")
    done = recover_uploads(tmp_path / "index", [corpus])  # no index: nothing of the upload is held
    assert sorted(p.name for p in corpus.iterdir()) == ["a.txt"] and (corpus / "a.txt").read_text() == "old"
    assert len(done) == 2
