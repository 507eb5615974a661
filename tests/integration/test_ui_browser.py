"""The web UI end to end: a real `rag serve` (API + Gradio UI, the real default model) over a copy of the seed
index, driven by headless Chromium through Playwright: ask, read the streamed answer and its sources, rate it,
upload a document and ask about it. Leaves a screenshot in `test-artifacts/ui.png`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import SeedIndex, Server

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER_TIMEOUT_MS = 60_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NEW_FACT = "青禾县2026年新建智能温室大棚17座，总投资4.2亿元，带动就业3600人。"


@pytest.fixture(scope="module")
def server(
    seed_index: SeedIndex, tmp_path_factory: pytest.TempPathFactory, rag_server: Callable[..., Any]
) -> Iterator[Server]:
    """`rag serve` (the UI mounted, as `make run` starts it) over a copy of the seed workdir."""
    work = seed_index.workdir.copy_to(tmp_path_factory.mktemp("ui") / "work").path
    with rag_server(work, {"GRADIO_ANALYTICS_ENABLED": "False"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def page(server: Server) -> Iterator[Page]:
    assert CHROMIUM.is_file(), f"no {CHROMIUM}: `scripts/bootstrap.sh test` installs it (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(
                viewport={"width": 1440, "height": 1000}, locale="en-US"
            )  # Gradio's own labels (Like, Dislike) in English
            pg.set_default_timeout(30_000)
            yield pg
        finally:
            browser.close()


def ask(page: Page, question: str) -> None:
    """Type a question, send it and wait for the finished answer (its footnote or its "not found" box)."""
    answers = page.locator("#rag-chat .rag-meta, #rag-chat .rag-notfound, #rag-chat .rag-error")
    before = answers.count()
    page.locator("#rag-question textarea").fill(question)
    page.locator("#rag-send").click()
    expect(answers).to_have_count(before + 1, timeout=ANSWER_TIMEOUT_MS)


def test_root_redirects_to_the_ui_and_the_api_keeps_its_routes(server: Server) -> None:
    r = httpx.get(server.url + "/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/ui/", r
    assert httpx.get(server.url + "/ui/").status_code == 200
    assert httpx.get(server.url + "/documents").json()["total"] == 5
    assert httpx.get(server.url + "/docs").status_code == 200
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}


def test_ask_shows_the_streamed_answer_with_its_cited_passage(server: Server, page: Page) -> None:
    page.goto(server.url + "/")
    expect(page.locator("#rag-status")).to_contain_text("5", timeout=ANSWER_TIMEOUT_MS)
    ask(page, "恒口示范区新建标准化厂房多少平方米？")
    answer = page.locator("#rag-chat .rag-answer").last
    expect(answer).to_contain_text("3.1万平方米")
    expect(answer).to_contain_text("[1]")
    sources = page.locator("#rag-sources")
    expect(sources.locator(".rag-source").first).to_contain_text("恒口")
    expect(sources.locator(".rag-source").first).to_contain_text("2020-05-14")
    expect(sources.locator("mark", has_text="3.1万平方米").first).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui.png"), full_page=True)

    # A thumbs-down with a comment lands in the server's SQLite file.
    page.locator("#rag-chat button[aria-label='Dislike']").last.click()
    expect(page.locator("#rag-feedback")).to_contain_text("👎")
    page.get_by_placeholder("对所选回答的意见").fill("来源很清楚")
    page.get_by_role("button", name="保存意见").click()
    expect(page.locator("#rag-feedback")).to_contain_text("已保存")
    with sqlite3.connect(server.work / "index" / "ui.sqlite") as con:
        rows = con.execute("SELECT rating, comment FROM feedback").fetchall()
    assert rows == [(-1, "来源很清楚")]


def test_an_unanswerable_question_looks_different(server: Server, page: Page) -> None:
    ask(page, "火星基地的氧气产量是多少？")
    expect(page.locator("#rag-chat .rag-notfound").last).to_contain_text("没有找到")


def test_upload_then_ask_about_the_new_document(server: Server, page: Page, tmp_path: Path) -> None:
    doc = tmp_path / "青禾县温室大棚建设.txt"
    doc.write_text(f"青禾县温室大棚建设\n\n{NEW_FACT}\n", encoding="utf-8")
    page.get_by_role("tab", name="文档").click()
    page.locator("#rag-upload input[type=file]").set_input_files(str(doc))
    page.locator("#rag-upload-btn").click()
    expect(page.locator("#rag-upload-result")).to_contain_text("✅", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#rag-docs")).to_contain_text("青禾县温室大棚建设")
    page.get_by_role("tab", name="问答").click()
    page.locator("#rag-new").click()
    expect(page.locator("#rag-chat .rag-meta, #rag-chat .rag-notfound")).to_have_count(0)
    ask(page, "青禾县新建了多少座智能温室大棚？")
    expect(page.locator("#rag-chat .rag-answer").last).to_contain_text("17座")
    expect(page.locator("#rag-sources")).to_contain_text("青禾县温室大棚建设")
    # The conversations so far are kept on the server: the earlier one can be reopened.
    page.reload()
    page.locator("#rag-history input").click()
    page.get_by_role("option", name="恒口示范区新建标准化厂房多少平方米？").click()
    expect(page.locator("#rag-chat .rag-answer").last).to_contain_text("3.1万平方米")
