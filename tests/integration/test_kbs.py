"""Knowledge bases on a real server: one built by the CLI, one made from uploaded files through `/kbs`, with
conflicting figures; each answers its own, asked together the citations say which one each passage is from;
`/documents?kb=`, the chat model name, removal, and the refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import Server

pytestmark = pytest.mark.slow

KEY = "kb-key"
AUTH = {"X-API-Key": KEY}
QUESTION = "2023年石泉县新建农村公路多少公里？"
SHIQUAN = "2023年，石泉县新建农村公路186公里，改造农村危房32户，完成固定资产投资45.6亿元，同比增长11.2%。"
HANYIN = "2023年，石泉县新建农村公路203公里（汉阴县交通局统计口径），全县完成交通建设投资3.5亿元。"


@pytest.fixture(scope="module")
def server(seed_server: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with seed_server("kbs", {"RAG_API__KEY": KEY}) as srv:
        yield srv


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def two_kbs(server: Server, http: httpx.Client, rag_cli: Callable[..., Any]) -> tuple[str, str]:
    """石泉 built by `rag index build --kb` from a folder of its own; 汉阴 made through `POST /kbs`."""
    folder = server.work / "石泉资料"
    folder.mkdir()
    (folder / "交通.txt").write_text("石泉县交通运输工作总结\n\n" + SHIQUAN + "\n", encoding="utf-8")
    built = rag_cli("index", "build", "--kb", "石泉", "--corpus", str(folder), cwd=server.work)
    assert built.returncode == 0, built.describe()
    files = [("files", ("交通.txt", ("汉阴县交通运输工作总结\n\n" + HANYIN + "\n").encode(), "text/plain"))]
    r = http.post("/kbs", data={"name": "汉阴", "description": "汉阴县"}, files=files, headers=AUTH)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["kb"]["name"] == "汉阴" and made["kb"]["documents"] == 1
    assert [f["status"] for f in made["files"]] == ["added"]
    status = rag_cli("index", "status", "--kb", "汉阴", "--json", cwd=server.work).json()
    assert status["documents"] == 1 and not any(status["stale"].values()), status  # built where it now lives
    return "石泉", "汉阴"


def ask(http: httpx.Client, **body: Any) -> dict[str, Any]:
    r = http.post("/ask", json={"question": QUESTION, **body})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_each_knowledge_base_answers_with_its_own_figure(http: httpx.Client, two_kbs: tuple[str, str]) -> None:
    shiquan, hanyin = two_kbs
    a = ask(http, kb=shiquan)
    assert a["grounded"] and a["short_answer"] == "186公里", a
    assert {c["kb"] for c in a["citations"]} == {shiquan}
    b = ask(http, kb=[hanyin])
    assert b["grounded"] and b["short_answer"] == "203公里", b
    assert {c["kb"] for c in b["citations"]} == {hanyin}
    seed = ask(http)  # the default knowledge base (the seed reports) holds neither
    assert seed["short_answer"] not in ("186公里", "203公里")
    assert {c["kb"] for c in seed["citations"]} <= {"default"}


def test_asked_together_every_citation_names_its_knowledge_base(http: httpx.Client, two_kbs: tuple[str, str]) -> None:
    both = ask(http, kb=list(two_kbs), top_k=4)
    assert both["grounded"], both
    by_kb = {c["kb"]: c["text"] for c in both["citations"]}
    assert set(by_kb) <= set(two_kbs) and by_kb
    assert both["short_answer"] in ("186公里", "203公里")
    first = both["citations"][0]
    assert both["short_answer"] in first["text"]  # the figure is an exact span of the passage cited first
    assert (SHIQUAN in first["text"]) == (first["kb"] == "石泉") and (HANYIN in first["text"]) == (
        first["kb"] == "汉阴"
    )


def test_kbs_are_listed_and_are_models_of_the_chat_api(http: httpx.Client, two_kbs: tuple[str, str]) -> None:
    listed = http.get("/kbs").json()["kbs"]
    assert [k["name"] for k in listed] == ["default", "汉阴", "石泉"]
    assert all(k["built"] and k["documents"] >= 1 for k in listed)
    assert http.get("/kbs/石泉").json()["corpus"] == ["石泉资料"]
    models = [m["id"] for m in http.get("/v1/models").json()["data"]]
    assert {"汉阴", "石泉", "rag-extractive"} <= set(models)
    r = http.post("/v1/chat/completions", json={"model": "汉阴", "messages": [{"role": "user", "content": QUESTION}]})
    assert r.status_code == 200, r.text
    assert r.json()["rag"]["short_answer"] == "203公里" and r.json()["citations"][0]["kb"] == "汉阴"
    r = http.post(
        "/v1/chat/completions",
        json={"model": "石泉/rag-extractive", "messages": [{"role": "user", "content": QUESTION}]},
    )
    assert r.status_code == 200 and r.json()["rag"]["short_answer"] == "186公里", r.text


def test_documents_and_uploads_of_one_knowledge_base(
    server: Server, http: httpx.Client, two_kbs: tuple[str, str]
) -> None:
    seed_docs = http.get("/documents").json()["total"]
    docs = http.get("/documents", params={"kb": "汉阴"}).json()
    assert docs["total"] == 1 and docs["documents"][0]["source"] == "corpus/交通.txt"
    files = [("files", ("水利.txt", "2023年汉阴县新修水渠42公里，新增灌溉面积1.2万亩。".encode(), "text/plain"))]
    r = http.post("/documents", params={"kb": "汉阴"}, files=files, headers=AUTH)
    assert r.status_code == 201, r.text
    assert (server.work / "kbs" / "汉阴" / "corpus" / "水利.txt").is_file()
    assert not (server.work / "corpus" / "水利.txt").exists() and http.get("/documents").json()["total"] == seed_docs
    a = http.post("/ask", json={"question": "2023年汉阴县新修水渠多少公里？", "kb": "汉阴"}).json()
    assert a["short_answer"] == "42公里", a


def test_refusals_and_removal(server: Server, http: httpx.Client, two_kbs: tuple[str, str]) -> None:
    assert http.post("/ask", json={"question": QUESTION, "kb": "没有这个库"}).status_code == 404
    assert http.get("/kbs/没有这个库").status_code == 404
    txt = [("files", ("a.txt", "2023年某县新建公路10公里。".encode(), "text/plain"))]
    assert http.post("/kbs", data={"name": "汉阴"}, files=txt, headers=AUTH).status_code == 409
    assert http.post("/kbs", data={"name": "../etc"}, files=txt, headers=AUTH).status_code == 422
    assert http.post("/kbs", data={"name": "新库"}, files=txt).status_code == 401
    bad = [("files", ("a.exe", b"MZ\x90\x00", "application/octet-stream"))]
    r = http.post("/kbs", data={"name": "坏库"}, files=bad, headers=AUTH)
    assert r.status_code in (415, 422), r.text
    assert not any(p.name.endswith("坏库") for p in (server.work / "kbs").iterdir())  # nothing left behind
    mixed = [
        ("files", ("公路.txt", "2023年某县新建公路10公里。".encode(), "text/plain")),
        ("files", ("坏.pdf", b"%PDF-1.4 not really", "application/pdf")),
    ]
    r = http.post("/kbs", data={"name": "混合"}, files=mixed, headers=AUTH)
    assert r.status_code == 201 and [f["status"] for f in r.json()["files"]] == ["added", "failed"], r.text
    assert "corrupt or unreadable PDF" in r.json()["files"][1]["reason"]
    assert sorted(p.name for p in (server.work / "kbs" / "混合" / "corpus").iterdir()) == ["公路.txt"]
    assert r.json()["files"][0]["documents"] and http.delete("/kbs/混合", headers=AUTH).status_code == 200
    assert http.delete("/kbs/default", headers=AUTH).status_code == 409
    r = http.delete("/kbs/汉阴", headers=AUTH)
    assert r.status_code == 200, r.text
    assert not (server.work / "kbs" / "汉阴").exists()
    assert http.post("/ask", json={"question": QUESTION, "kb": "汉阴"}).status_code == 404
    assert ask(http, kb="石泉")["short_answer"] == "186公里"  # the others are untouched
    assert (server.work / "石泉资料" / "交通.txt").is_file()
    assert Path(server.work / "corpus").is_dir()


def test_a_knowledge_base_asked_before_its_first_build_answers_once_built(
    server: Server, http: httpx.Client, rag_cli: Callable[..., Any]
) -> None:
    folder = server.work / "kbs" / "紫阳" / "corpus"
    folder.mkdir(parents=True)
    (folder.parent / "kb.json").write_text('{"description": "紫阳县"}', encoding="utf-8")
    question = {"question": "2023年紫阳县茶园面积多少万亩？", "kb": "紫阳"}
    r = http.post("/ask", json=question)
    assert r.status_code == 503 and "rag index build" in r.json()["detail"], r.text
    (folder / "茶业.txt").write_text("紫阳县茶产业发展情况\n\n2023年，紫阳县茶园面积达到21.6万亩。\n", encoding="utf-8")
    built = rag_cli("index", "build", "--kb", "紫阳", cwd=server.work)
    assert built.returncode == 0, built.describe()
    answer = http.post("/ask", json=question).json()
    assert answer["short_answer"] == "21.6万亩" and answer["citations"][0]["kb"] == "紫阳", answer
