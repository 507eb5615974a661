"""The UI without a browser: the Blocks build over a service whose index is not loaded yet, the HTML of answers and
sources escapes and highlights, and conversations and feedback survive a new store on the same file."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
import pytest

from rag.service import RagService, build_service
from rag.settings import Settings
from ui import render
from ui.app import build_ui, database_path
from ui.service import check_key, index_status
from ui.store import ConversationStore, database_url
from ui.text import STRINGS

T = TypeVar("T")
ZH = STRINGS["zh"]
DOC_TEXT = "前文。" * 100 + "新建标准化厂房3.1万平方米;引进外资企业1户。" + "后文。" * 100


def _holder(tmp_path: Path, error: str | None = None) -> RagService:
    """The real service over an index that is still loading (or failed to load: ``error``)."""
    settings = Settings()
    settings.index.dir = tmp_path / "index"
    svc = build_service(settings)
    svc.live.error = error
    return svc


def _build(holder: RagService, tmp_path: Path, **kwargs: Any) -> gr.Blocks:
    """``build_ui`` inside a running event loop: outside one, Gradio opens event loops it never closes."""

    async def build() -> gr.Blocks:
        return build_ui(holder, store=ConversationStore(tmp_path / "ui.sqlite"), **kwargs)

    return asyncio.run(build())


def _components(blocks: Any) -> dict[str, Any]:
    return {b.elem_id: b for b in blocks.blocks.values() if getattr(b, "elem_id", None)}


def test_the_blocks_build_with_every_part(tmp_path: Path) -> None:
    holder = _holder(tmp_path)
    blocks = _build(holder, tmp_path)
    assert isinstance(blocks, gr.Blocks)
    parts = _components(blocks)
    for elem_id in ("rag-chat", "rag-question", "rag-send", "rag-sources", "rag-history", "rag-query", "rag-upload"):
        assert elem_id in parts, elem_id
    assert isinstance(parts["rag-chat"], gr.Chatbot)
    assert isinstance(parts["rag-docs"], gr.Dataframe)
    tabs = [b.label for b in blocks.blocks.values() if isinstance(b, gr.Tab)]
    assert tabs == [ZH["tab_chat"], ZH["tab_search"], ZH["tab_docs"]]
    backend = next(b for b in blocks.blocks.values() if isinstance(b, gr.Dropdown) and b.label == ZH["backend"])
    assert ("extractive", "extractive") in backend.choices


def test_the_chat_and_the_documents_tab_have_a_selector_of_the_knowledge_bases(tmp_path: Path) -> None:
    from rag.kbs import KnowledgeBases, write_kb

    holder = _holder(tmp_path)
    settings = Settings()
    settings.index.dir = tmp_path / "index"
    settings.index.kbs_dir = tmp_path / "kbs"
    write_kb(settings.index.kbs_dir / "汉阴", description="汉阴县")
    parts = _components(_build(holder, tmp_path, kbs=KnowledgeBases(settings, default=holder)))
    kb, docs_kb = parts["rag-kb"], parts["rag-docs-kb"]
    assert isinstance(kb, gr.Dropdown) and kb.multiselect and kb.value == ["default"]
    assert [value for _, value in kb.choices] == ["default", "汉阴"]
    assert isinstance(docs_kb, gr.Dropdown) and not docs_kb.multiselect and docs_kb.value == "default"
    assert [value for _, value in docs_kb.choices] == ["default", "汉阴"]


def test_english_interface(tmp_path: Path) -> None:
    blocks = _build(_holder(tmp_path), tmp_path, lang="en")
    tabs = [b.label for b in blocks.blocks.values() if isinstance(b, gr.Tab)]
    assert tabs == ["Ask", "Search", "Documents"]


def test_status_of_a_holder_not_ready(tmp_path: Path) -> None:
    assert index_status(_holder(tmp_path)).state == "loading"
    failed = index_status(_holder(tmp_path, "no index at index — run `rag index build`"))
    assert failed.state == "failed" and "rag index build" in (failed.detail or "")


def test_database_beside_the_index_unless_set(tmp_path: Path) -> None:
    settings = Settings()
    settings.index.dir = tmp_path / "idx"
    assert database_path(settings) == tmp_path / "idx" / "ui.sqlite"
    settings.ui.db = str(tmp_path / "elsewhere.sqlite")
    assert database_url(database_path(settings)) == f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    settings.ui.db = "postgresql://rag:secret@db.internal:5432/rag"  # shared by replicas: read with psycopg 3
    assert database_url(database_path(settings)) == "postgresql+psycopg://rag:secret@db.internal:5432/rag"


def test_writes_need_the_key_when_one_is_set(tmp_path: Path) -> None:
    settings = Settings()
    settings.index.dir = tmp_path / "index"
    assert check_key(build_service(settings), None)
    settings.api.key = "secret"
    svc = build_service(settings)
    assert not check_key(svc, None) and not check_key(svc, "nope") and check_key(svc, "secret")


def _answer(**over: Any) -> dict[str, Any]:
    start = DOC_TEXT.index("新建")
    cited = "新建标准化厂房3.1万平方米;引进外资企业1户。"
    answer: dict[str, Any] = {
        "question": "恒口示范区新建标准化厂房多少平方米？",
        "answer": "新建标准化厂房3.1万平方米 [1]",
        "short_answer": "3.1万平方米",
        "grounded": True,
        "citations": [
            {
                "n": 1,
                "doc_id": "d1",
                "title": "恒口 <报告>",
                "source": "corpus/a.txt",
                "chunk_id": "c1",
                "text": cited,
                "start": start,
                "end": start + len(cited),
                "score": 0.8,
            }
        ],
        "backend": "extractive",
        "timings_ms": {"total": 1234.0},
    }
    answer.update(over)
    return answer


def test_sources_show_the_passage_in_its_context_highlighted_and_escaped() -> None:
    docs = {"d1": render.DocView("d1", "恒口 <报告>", "corpus/a.txt", "2020-05-14", DOC_TEXT)}
    html = render.sources_html(_answer(), docs, ZH)
    assert "<mark>新建标准化厂房<strong>3.1万平方米</strong>;引进外资企业1户。</mark>" in html
    assert "恒口 &lt;报告&gt;" in html and "<报告>" not in html
    assert "2020-05-14" in html and "corpus/a.txt" in html and "0.800" in html
    assert 'href="/documents/d1"' in html
    before = html.split("<mark>")[0].split('<blockquote class="rag-context">')[1]
    assert before.startswith("…") and len(before) == 1 + render.CONTEXT_CHARS


def test_a_paged_source_shows_its_page_and_the_page_text_with_the_span_highlighted() -> None:
    from rag.types import Page

    start = DOC_TEXT.index("新建标准化厂房")
    pages = (Page(1, 0, start - 1), Page(2, start - 1, len(DOC_TEXT), ocr=True))
    docs = {"d1": render.DocView("d1", "恒口", "corpus/a.pdf", None, DOC_TEXT, pages)}
    answer = _answer()
    answer["citations"][0].update(pages=[2], ocr=True)
    html = render.sources_html(answer, docs, ZH)
    assert ZH["page"].format(pages="2") in html and ZH["ocr"] in html
    _, page_text = html.split(ZH["page_text"].format(page=2))[1].split('<div class="rag-fulltext">')
    assert page_text.startswith(DOC_TEXT[start - 1 : start]) and "<mark>新建标准化厂房" in page_text
    assert DOC_TEXT[: start - 1] not in page_text  # page 1 is not shown
    plain = render.sources_html(_answer(), {"d1": render.DocView("d1", "恒口", "corpus/a.txt", None, DOC_TEXT)}, ZH)
    assert "第" not in plain.split("rag-source-meta")[1].split("</div>")[0]


def test_grounded_and_not_found_answers_look_different() -> None:
    grounded = render.answer_html(_answer(), ZH)
    assert '<span class="rag-cite">[1]</span>' in grounded and "rag-notfound" not in grounded
    missing = render.answer_html(_answer(grounded=False, citations=[], answer="语料中没有找到"), ZH)
    assert "rag-notfound" in missing and ZH["not_found"] in missing


def test_unsupported_figures_are_marked() -> None:
    answer = _answer(answer="投资5亿元 [1]", unsupported_figures=[{"text": "5亿元", "start": 2, "end": 5}])
    html = render.answer_html(answer, ZH)
    assert '<span class="rag-unsupported"' in html and "5亿元 ⚠" in html and ZH["unsupported"] in html


def test_answer_text_is_escaped() -> None:
    html = render.answer_html(_answer(answer="<script>alert(1)</script> [1]"), ZH)
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_conversations_and_feedback_survive_a_restart(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "ui.sqlite")
    cid = store.create("恒口示范区新建标准化厂房多少平方米？")
    store.add_message(cid, "user", "恒口示范区新建标准化厂房多少平方米？")
    reply = store.add_message(cid, "assistant", "3.1万平方米 [1]", answer=_answer(), sources_html="<div/>")
    store.set_feedback(reply.id, -1)
    assert store.set_comment(reply.id, "出处对")

    again = ConversationStore(tmp_path / "ui.sqlite")
    assert [c.id for c in again.conversations()] == [cid]
    messages = again.messages(cid)
    assert [(m.position, m.role) for m in messages] == [(0, "user"), (1, "assistant")]
    assert messages[1].answer is not None and messages[1].answer["short_answer"] == "3.1万平方米"
    assert again.feedback(reply.id) == (-1, "出处对")
    again.set_feedback(reply.id, 1)  # a new rating keeps the comment
    assert again.feedback(reply.id) == (1, "出处对")
    assert again.all_feedback()[0]["question"] == "恒口示范区新建标准化厂房多少平方米？"
    again.delete(cid)
    assert again.conversations() == [] and again.feedback(reply.id) is None


def test_conversations_belong_to_the_browser_that_started_them(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "ui.sqlite")
    mine = store.create("海陵区建设街头游园多少个？", owner="browser-a")
    theirs = store.create("恒口示范区新建标准化厂房多少平方米？", owner="browser-b")
    assert [c.id for c in store.conversations(owner="browser-a")] == [mine]
    assert [c.id for c in store.conversations(owner="browser-b")] == [theirs]
    assert store.conversations(owner="browser-c") == [] and store.conversations() == []
    assert {c.id for c in store.conversations(everyone=True)} == {mine, theirs}  # the key holder's view
    assert store.owner_of(mine) == "browser-a" and store.owner_of("nope") is None
    secret = store.secret()
    assert len(secret) >= 24 and ConversationStore(tmp_path / "ui.sqlite").secret() == secret  # kept in the file


def test_a_store_from_before_owners_gains_the_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TABLE conversations (id TEXT PRIMARY KEY, title TEXT NOT NULL, created_at REAL, updated_at REAL)"
        )
        con.execute("INSERT INTO conversations VALUES ('old', '旧的', 1, 1)")
    store = ConversationStore(path)
    assert store.owner_of("old") is None and [c.id for c in store.conversations(everyone=True)] == ["old"]
    assert store.conversations(owner="browser-a") == []  # nobody's but the key holder's


def test_the_ui_is_mounted_once_the_pipeline_is_in_and_a_loading_page_stands_in_until_then(tmp_path: Path) -> None:
    import time

    from fastapi.testclient import TestClient

    from rag.api.app import create_app
    from ui.server import mount_ui_later

    holder = _holder(tmp_path)
    holder.live.load = lambda: None  # type: ignore[method-assign]  # the index stays "loading" until we say
    settings = Settings()
    settings.index.dir = tmp_path / "index"
    app = mount_ui_later(create_app(settings, service=holder))
    with TestClient(app) as client:
        loading = client.get("/ui/")
        assert loading.status_code == 503 and "正在加载" in loading.text
        assert loading.headers["retry-after"] == "1"
        assert client.get("/ui/en/").status_code == 503
        assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
        assert app.state.ui_ready_at is None
        holder.live.error = "no index at index — run `rag index build`"  # the load ended (here: failed)
        deadline = time.monotonic() + 60
        while client.get("/ui/").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        page = client.get("/ui/")
        assert page.status_code == 200 and "gradio" in page.text.lower()
        assert client.get("/ui/en/").status_code == 200
        assert app.state.ui_ready_at is not None


def test_the_documents_tab_lists_and_adds_to_the_knowledge_base_picked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rag.indexing import build_index
    from rag.kbs import KnowledgeBases, ensure_kb
    from ui.context import UIContext
    from ui.documents_tab import document_handlers

    settings = Settings()
    settings.embedder.backend = "hashing"
    settings.reader.enabled = False
    settings.index.dir = tmp_path / "index"
    settings.index.kbs_dir = tmp_path / "kbs"
    kb = ensure_kb(settings, "汉阴")
    (kb.corpus[0] / "交通.txt").write_text("汉阴县交通\n\n2023年新建农村公路203公里。\n", encoding="utf-8")
    build_index(kb.settings(settings), progress=False)
    holder = build_service(settings)
    ctx = UIContext(holder, ConversationStore(tmp_path / "ui.sqlite"), ZH, KnowledgeBases(settings, default=holder))
    handlers = document_handlers(ctx, lambda: "")
    _, rows, _ = handlers.documents_view("汉阴")
    assert [row[2] for row in rows] == ["corpus/交通.txt"]
    uploads = tmp_path / "gradio"
    (uploads / "x").mkdir(parents=True)
    (uploads / "x" / "水利.txt").write_text("汉阴县水利\n\n2023年新修水渠42公里。\n", encoding="utf-8")
    monkeypatch.setattr(gr.utils, "get_upload_folder", lambda: str(uploads))
    report, _, rows, _ = handlers.upload([str(uploads / "x" / "水利.txt")], "", "汉阴")
    assert "✅" in report and sorted(row[2] for row in rows) == ["corpus/交通.txt", "corpus/水利.txt"]
    assert (kb.corpus[0] / "水利.txt").is_file() and not (tmp_path / "corpus").exists()  # not the default's
