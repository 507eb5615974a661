"""The HTTP API end to end: a real `rag serve` (uvicorn, the real default model) on a loopback port, over a copy
of the seed index, driven with httpx and with the official `openai` client."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import openai
import pytest

from rag import registry
from rag.pipeline import MAX_QUESTION_CHARS

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import CliResult, SeedIndex, Server

pytestmark = pytest.mark.slow

KEY = "secret"
AUTH = {"Authorization": f"Bearer {KEY}"}
SEED_QUESTIONS = [
    ("恒口示范区新建标准化厂房多少平方米？", "3.1万平方米"),
    ("恒口示范区选派了多少名专职工作队队员？", "88"),
    ("2017年1-8月衡水140项省市重点项目完成投资多少？", "326.8亿元"),
]
MARKER_RE = re.compile(r"\[(\d+)\]")


@pytest.fixture(scope="module")
def server(seed_server: Callable[..., Any]) -> Iterator[Server]:
    """One server for the module (each start loads torch and the model): a copy of the seed workdir, a key set."""
    # One local answer at a time: concurrent questions must queue for their turn, not fail
    env = {"RAG_API__KEY": KEY, "RAG_API__MAX_UPLOAD_MB": "1", "RAG_API__ANSWER_THREADS": "1"}
    with seed_server("api", env) as srv:
        yield srv


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def ask(http: httpx.Client, question: str, **extra: Any) -> dict[str, Any]:
    r = http.post("/ask", json={"question": question, **extra})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def check_citations(http: httpx.Client, answer: dict[str, Any]) -> None:
    """Markers point to citations 1..m and each citation is its document's text[start:end]."""
    numbers = {c["n"] for c in answer["citations"]}
    assert numbers == set(range(1, len(numbers) + 1))
    assert {int(n) for n in MARKER_RE.findall(answer["answer"])} == numbers
    for c in answer["citations"]:
        r = http.get(f"/documents/{c['doc_id']}")
        assert r.status_code == 200, r.text
        assert r.json()["text"][c["start"] : c["end"]] == c["text"]


def sse_events(response: httpx.Response) -> list[tuple[str, Any]]:
    events: list[tuple[str, Any]] = []
    for block in response.text.split("\n\n"):
        if block.strip():
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


# --- operations ----------------------------------------------------------------------------------------------


def test_health_and_ready(http: httpx.Client) -> None:
    assert http.get("/health").json() == {"status": "ok"}
    ready = http.get("/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ready"
    assert body["embedder"]["model"] == "m3e-small"
    assert body["documents"] >= 5 and body["chunks"] > body["documents"]


def test_metrics_count_requests_by_route_and_status(http: httpx.Client) -> None:
    ask(http, SEED_QUESTIONS[0][0])
    assert http.post("/ask", json={"question": ""}).status_code == 422
    assert http.get("/documents/no-such-document").status_code == 404
    r = http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    count = re.search(r'^rag_http_requests_total\{method="POST",route="/ask",status="200"\} (\d+)$', text, re.M)
    assert count and int(count.group(1)) >= 1
    assert re.search(r'^rag_http_requests_total\{method="POST",route="/ask",status="422"\} [1-9]', text, re.M)
    # the route template, not the raw path (no label per document id)
    assert 'route="/documents/{doc_id}",status="404"' in text and "no-such-document" not in text
    assert re.search(r'^rag_http_request_duration_seconds_bucket\{method="POST",route="/ask",le="\+Inf"\} ', text, re.M)
    assert re.search(r"^rag_http_request_duration_seconds_count\{.*\} \d+$", text, re.M)
    docs = re.search(r"^rag_index_documents (\d+)$", text, re.M)
    chunks = re.search(r"^rag_index_chunks (\d+)$", text, re.M)
    assert docs and int(docs.group(1)) >= 5 and chunks and int(chunks.group(1)) > 5
    assert "# TYPE rag_http_request_duration_seconds histogram" in text


# --- /ask ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "figure"), SEED_QUESTIONS)
def test_ask_answers_seed_questions_with_valid_citations(http: httpx.Client, question: str, figure: str) -> None:
    answer = ask(http, question)
    assert set(answer) >= {"question", "answer", "short_answer", "grounded", "citations", "backend", "timings_ms"}
    assert answer["grounded"] is True, answer
    assert figure in answer["short_answer"], answer
    assert answer["backend"] == "extractive"
    check_citations(http, answer)


def test_ask_streams_pieces_then_the_answer(http: httpx.Client) -> None:
    question = SEED_QUESTIONS[1][0]
    for request in (
        {"json": {"question": question, "stream": True}},
        {"json": {"question": question}, "headers": {"Accept": "text/event-stream"}},
    ):
        r = http.post("/ask", **request)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r)
        names = [name for name, _ in events]
        assert names[-2:] == ["answer", "done"] and set(names[:-2]) == {"piece"}, names
        final = events[-2][1]
        # the pieces carry the same renumbered markers as the final answer
        assert "".join(data["text"] for _, data in events[:-2]) == final["answer"]
        assert final == {**ask(http, question), "timings_ms": final["timings_ms"]}
        check_citations(http, final)


def test_ask_requests_run_concurrently(http: httpx.Client, server: Server) -> None:
    questions = [q for q, _ in SEED_QUESTIONS] * 2

    def ask_alone(question: str) -> dict[str, Any]:
        with server.client() as client:
            return ask(client, question)

    with ThreadPoolExecutor(len(questions)) as pool:
        answers = list(pool.map(ask_alone, questions))
        # while they wait for the one answer thread, the event loop still serves
        assert http.get("/health", timeout=5).status_code == 200
    assert all(a["grounded"] for a in answers)
    assert [a["short_answer"] for a in answers] == [a["short_answer"] for a in answers[: len(SEED_QUESTIONS)]] * 2
    text = http.get("/metrics").text
    assert re.search(r"^rag_answer_threads 1$", text, re.M), text
    assert re.search(r"^rag_answers_running 0$", text, re.M) and re.search(r"^rag_answers_waiting 0$", text, re.M)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"question": ""}, "empty"),
        ({"question": "   \n"}, "empty"),
        ({"question": "问" * (MAX_QUESTION_CHARS + 1)}, "limit"),
        ({"question": 42}, "string"),
        ({"question": ["恒口"]}, "string"),
        ({"question": None}, "string"),
        ({}, "required"),
        ({"question": "恒口示范区", "top_k": 0}, "greater than"),
    ],
)
def test_bad_questions_are_422_with_a_message(http: httpx.Client, body: dict[str, Any], message: str) -> None:
    r = http.post("/ask", json=body)
    assert r.status_code == 422, r.text
    assert message in json.dumps(r.json()["detail"], ensure_ascii=False)


def test_unknown_backend_is_400_listing_the_available_ones(http: httpx.Client) -> None:
    r = http.post("/ask", json={"question": SEED_QUESTIONS[0][0], "backend": "gpt-9"})
    assert r.status_code == 400
    assert r.json()["available"] == registry.available("generator") and "gpt-9" in r.json()["detail"]


# --- OpenAI-compatible ---------------------------------------------------------------------------------------


@pytest.fixture
def oai(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)


def test_openai_client_models_and_completion(oai: openai.OpenAI, http: httpx.Client) -> None:
    assert "rag-extractive" in [m.id for m in oai.models.list()]
    question, figure = SEED_QUESTIONS[1]
    completion = oai.chat.completions.create(
        model="rag-extractive",
        messages=[{"role": "system", "content": "你是报告问答助手。"}, {"role": "user", "content": question}],
    )
    content = completion.choices[0].message.content or ""
    assert figure in content and completion.choices[0].finish_reason == "stop"
    citations = (completion.model_extra or {})["citations"]
    assert citations and {int(n) for n in MARKER_RE.findall(content)} == {c["n"] for c in citations}
    assert content == ask(http, question)["answer"]


def test_openai_client_streaming(oai: openai.OpenAI) -> None:
    question, figure = SEED_QUESTIONS[2]
    stream = oai.chat.completions.create(
        model="rag-extractive", messages=[{"role": "user", "content": question}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert figure in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    citations = (last.model_extra or {})["citations"]
    assert {int(n) for n in MARKER_RE.findall(text)} == {c["n"] for c in citations} != set()


def test_openai_errors(oai: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError, match="empty"):
        oai.chat.completions.create(model="rag-extractive", messages=[{"role": "user", "content": " "}])
    with pytest.raises(openai.BadRequestError, match="rag-extractive"):
        oai.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": SEED_QUESTIONS[0][0]}])


# --- documents -----------------------------------------------------------------------------------------------


def test_documents_list_pages_and_detail(http: httpx.Client) -> None:
    page = http.get("/documents", params={"limit": 2}).json()
    assert page["total"] >= 5 and len(page["documents"]) == 2
    rest = http.get("/documents", params={"offset": 2, "limit": 100}).json()["documents"]
    ids = [d["id"] for d in page["documents"] + rest]
    assert len(ids) == len(set(ids)) == page["total"]
    first = page["documents"][0]
    assert set(first) == {"id", "title", "source", "date", "chunks"}
    detail = http.get(f"/documents/{first['id']}").json()
    assert detail["source"] == first["source"] and len(detail["text"]) > 100
    assert http.get("/documents/nope").status_code == 404


def test_writes_need_the_key(http: httpx.Client, server: Server) -> None:
    files = {"files": ("x.txt", "青禾镇不存在的事实。".encode(), "text/plain")}
    assert http.post("/documents", files=files).status_code == 401
    assert http.post("/documents", files=files, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert http.post("/documents", files=files, headers={"X-API-Key": "wrong"}).status_code == 401
    doc_id = http.get("/documents").json()["documents"][0]["id"]
    assert http.delete(f"/documents/{doc_id}").status_code == 401
    assert not (server.work / "corpus" / "x.txt").exists()
    assert http.get(f"/documents/{doc_id}").status_code == 200


def test_upload_rejects_bad_files(http: httpx.Client, server: Server) -> None:
    before = sorted(p.name for p in (server.work / "corpus").iterdir())
    r = http.post("/documents", files={"files": ("tool.exe", b"MZ\x00", "application/octet-stream")}, headers=AUTH)
    assert r.status_code == 415 and ".txt" in r.json()["detail"]
    big = ("大" * 400_000).encode()  # 1.2 MB, over the 1 MB limit this server runs with
    r = http.post("/documents", files={"files": ("big.txt", big, "text/plain")}, headers=AUTH)
    assert r.status_code == 413, r.text
    r = http.post("/documents", files={"files": ("empty.txt", b"  \n", "text/plain")}, headers=AUTH)
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    assert sorted(p.name for p in (server.work / "corpus").iterdir()) == before


UNIQUE_DOC = (
    "青禾镇智慧农业发展报告\n\n"
    "青禾镇大力发展设施农业。2023年青禾镇新建智慧温室417座，带动周边农户增收。"
    "青禾镇还建成了冷链仓储中心一处，库容达到6800吨。\n"
)
UNIQUE_QUESTION = "青禾镇2023年新建智慧温室多少座？"


def test_upload_then_ask_then_delete(http: httpx.Client, server: Server) -> None:
    before = http.get("/documents").json()["total"]
    # a name trying to leave the corpus folder is reduced to a plain file name inside it
    files = {"files": ("../../青禾镇报告.txt", UNIQUE_DOC.encode(), "text/plain")}
    r = http.post("/documents", files=files, headers=AUTH)
    assert r.status_code == 201, r.text
    (doc,) = r.json()["documents"]
    assert doc["source"] == "corpus/青禾镇报告.txt" and r.json()["index"]["added"] == 1
    assert (server.work / "corpus" / "青禾镇报告.txt").is_file()
    assert not (server.work.parent / "青禾镇报告.txt").exists()
    assert http.get("/documents").json()["total"] == before + 1

    answer = ask(http, UNIQUE_QUESTION)  # served by the new index without a restart
    assert answer["grounded"] and "417" in answer["short_answer"], answer
    assert doc["id"] in {c["doc_id"] for c in answer["citations"]}
    check_citations(http, answer)

    r = http.delete(f"/documents/{doc['id']}", headers={"X-API-Key": KEY})
    assert r.status_code == 200, r.text
    assert r.json()["deleted"] == [doc["id"]] and r.json()["index"]["removed"] == 1
    assert not (server.work / "corpus" / "青禾镇报告.txt").exists()
    assert http.get(f"/documents/{doc['id']}").status_code == 404
    gone = ask(http, UNIQUE_QUESTION)
    assert gone["grounded"] is False and "417" not in gone["answer"], gone
    assert http.get("/documents").json()["total"] == before


def test_an_uploaded_spreadsheet_is_answered_with_the_figure_and_unit_of_its_cell(
    http: httpx.Client, server: Server, tmp_path: Path
) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in (["单位：万元", None, None], ["项目", "2022年", "增长（%）"], ["云溪镇茶叶产值", 3865, 12.4]):
        sheet.append(row)
    path = tmp_path / "云溪镇产业.xlsx"
    workbook.save(path)
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = http.post("/documents", files={"files": (path.name, path.read_bytes(), mime)}, headers=AUTH)
    assert r.status_code == 201, r.text
    (doc,) = r.json()["documents"]
    answer = ask(http, "云溪镇2022年茶叶产值是多少万元？")
    assert answer["grounded"] and answer["short_answer"] == "3865万元", answer
    assert doc["id"] in {c["doc_id"] for c in answer["citations"]}
    check_citations(http, answer)
    assert http.delete(f"/documents/{doc['id']}", headers={"X-API-Key": KEY}).status_code == 200


def test_index_built_beside_the_server_is_picked_up(
    http: httpx.Client, server: Server, rag_cli: Callable[..., CliResult]
) -> None:
    build_before = http.get("/ready").json()["build"]
    fact = "白石乡2022年修建山塘水库共计23座，新增灌溉面积5400亩。\n"
    (server.work / "corpus" / "白石乡水利建设.txt").write_text("白石乡水利建设情况\n\n" + fact, encoding="utf-8")
    assert ask(http, "白石乡2022年修建山塘水库多少座？")["grounded"] is False
    result = rag_cli("index", "build", "--corpus", "corpus", "--index", "index", cwd=server.work)
    assert result.returncode == 0, result.describe()
    deadline = time.monotonic() + 10
    while (answer := ask(http, "白石乡2022年修建山塘水库多少座？"))["grounded"] is False:
        assert time.monotonic() < deadline, f"the new build was not picked up\n{server.describe()}"
        time.sleep(0.3)
    assert "23" in (answer["short_answer"] or ""), answer
    assert http.get("/ready").json()["build"] != build_before
    assert re.search(r"^rag_index_reloads [1-9]", http.get("/metrics").text, re.M)


def test_ask_filters_by_document(http: httpx.Client) -> None:
    question, figure = SEED_QUESTIONS[0]
    home = ask(http, question)["citations"][0]["doc_id"]
    others = [d["id"] for d in http.get("/documents").json()["documents"] if d["id"] != home]
    kept = ask(http, question, filters={"doc_ids": [home]})
    assert kept["grounded"] and figure in kept["short_answer"] and {c["doc_id"] for c in kept["citations"]} == {home}
    elsewhere = ask(http, question, filters={"doc_ids": others})
    assert home not in {c["doc_id"] for c in elsewhere["citations"]} and figure not in elsewhere["answer"]
    assert ask(http, question, filters={"doc_ids": []})["grounded"] is False


def test_ask_filters_by_date(http: httpx.Client) -> None:
    question, figure = SEED_QUESTIONS[0]
    home = ask(http, question)["citations"][0]["doc_id"]
    home_date = http.get(f"/documents/{home}").json()["date"]
    assert home_date, "the seed document cited first states its date"
    dated = {d["id"]: d["date"] for d in http.get("/documents").json()["documents"]}
    kept = ask(http, question, filters={"date_from": home_date, "date_to": home_date})
    assert kept["grounded"] and figure in kept["short_answer"]
    assert {dated[c["doc_id"]] for c in kept["citations"]} == {home_date}
    before = ask(http, question, filters={"date_to": "2018-01-01"})
    assert all(dated[c["doc_id"]] and dated[c["doc_id"]] <= "2018-01-01" for c in before["citations"]), before
    assert figure not in before["answer"]
    r = http.post("/ask", json={"question": question, "filters": {"date_from": "2020-13-01"}})
    assert r.status_code == 422, r.text


def test_openapi_page_has_chinese_examples(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    assert {"/ask", "/v1/chat/completions", "/v1/models", "/documents", "/documents/{doc_id}"} <= set(spec["paths"])
    assert "恒口示范区新建标准化厂房多少平方米？" in json.dumps(spec, ensure_ascii=False)
    assert http.get("/docs").status_code == 200


def test_several_worker_processes_serve_the_api(
    seed_index: SeedIndex, tmp_path_factory: pytest.TempPathFactory, rag_server: Callable[..., Any]
) -> None:
    work = seed_index.workdir.copy_to(tmp_path_factory.mktemp("workers") / "work").path
    with rag_server(work, {"RAG_API__WORKERS": "2"}) as srv, srv.client() as http:
        assert http.get("/ready").status_code == 200
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda qf: (ask(http, qf[0]), qf[1]), SEED_QUESTIONS * 2))
        for answer, figure in answers:
            assert answer["grounded"] and figure in answer["short_answer"], answer
        assert http.get("/ui/").status_code == 404  # the UI needs one process per browser session
        assert "web UI off with 2 workers" in srv.log.read_text(errors="replace"), srv.describe()
