"""Uploads never lose data nor read server files, and odd requests get a 4xx: a real `rag serve` (UI mounted)
over a copy of the seed index.

- A failed upload under the name of an existing corpus file leaves that file and its document as they were.
- A same-name upload that succeeds says it replaced the file; a multi-file upload reports each file.
- The UI's upload function, called through Gradio's own API with a server path instead of an uploaded file,
  neither indexes nor copies that file (with the key, even).
- Bodies over the limits are refused before they are read; lone surrogates and 64-bit overflows are 422s.
"""

from __future__ import annotations

import json
import secrets
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import Server

pytestmark = pytest.mark.slow

KEY = "upload-key"
AUTH = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def server(seed_server: Callable[..., Any]) -> Iterator[Server]:
    env = {"RAG_API__KEY": KEY, "GRADIO_TEMP_DIR": "{work}/../gradio-tmp", "GRADIO_ANALYTICS_ENABLED": "False"}
    with seed_server("uploads", env) as srv:
        yield srv


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def corpus_state(server: Server) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((server.work / "corpus").iterdir())}


def ask(http: httpx.Client, question: str) -> dict[str, Any]:
    r = http.post("/ask", json={"question": question})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_failed_upload_under_an_existing_name_keeps_the_file_and_its_document(
    http: httpx.Client, server: Server
) -> None:
    before = corpus_state(server)
    victim = next(name for name in before if name.startswith("001_"))
    docs = {d["source"]: d["id"] for d in http.get("/documents").json()["documents"]}
    doc_id = docs[f"corpus/{victim}"]
    text_before = http.get(f"/documents/{doc_id}").json()["text"]

    r = http.post("/documents", files={"files": (victim, b"   \n", "text/plain")}, headers=AUTH)
    assert r.status_code == 422 and "empty" in r.json()["detail"], r.text
    assert str(server.work) not in r.json()["detail"]  # no server path in the message
    assert corpus_state(server) == before  # the good file is untouched, and no temporary file is left
    # the next write rebuilds from the corpus: the document must survive it
    r = http.post(
        "/documents", files={"files": ("同名测试.txt", "桐木乡2023年新修水渠12公里。".encode())}, headers=AUTH
    )
    assert r.status_code == 201, r.text
    assert http.get(f"/documents/{doc_id}").json()["text"] == text_before
    answer = ask(http, "恒口示范区选派了多少名专职工作队队员？")  # seeds_dev d03, answered by file 001
    assert answer["grounded"] and "88" in (answer["short_answer"] or ""), answer


def test_same_name_upload_replaces_and_says_so(http: httpx.Client, server: Server) -> None:
    files = {"files": ("替换测试.txt", "石门镇2022年新建文化广场3处。".encode())}
    r = http.post("/documents", files=files, headers=AUTH)
    assert r.status_code == 201 and [f["status"] for f in r.json()["files"]] == ["added"], r.text
    files = {"files": ("替换测试.txt", "石门镇2022年新建文化广场7处。".encode())}
    r = http.post("/documents", files=files, headers=AUTH)
    assert r.status_code == 201, r.text
    (result,) = r.json()["files"]
    assert result["status"] == "replaced" and result["source"] == "corpus/替换测试.txt", result
    assert (server.work / "corpus" / "替换测试.txt").read_text(encoding="utf-8").endswith("7处。")
    answer = ask(http, "石门镇2022年新建文化广场多少处？")
    assert answer["grounded"] and answer["short_answer"] == "7处", answer


def test_multi_file_upload_reports_each_file(http: httpx.Client, server: Server) -> None:
    before = set(corpus_state(server))
    files = [
        ("files", ("多文件好.txt", "云溪村2021年新建蓄水池16口。".encode(), "text/plain")),
        ("files", ("多文件空.txt", b"", "text/plain")),
        ("files", ("tool.exe", b"MZ\x00", "application/octet-stream")),
    ]
    r = http.post("/documents", files=files, headers=AUTH)
    assert r.status_code == 201, r.text
    results = r.json()["files"]
    assert [f["status"] for f in results] == ["added", "failed", "failed"], results
    assert results[0]["documents"] and not results[1]["documents"]
    assert "empty" in results[1]["reason"] and ".txt" in results[2]["reason"]
    assert set(corpus_state(server)) - before == {"多文件好.txt"}
    r = http.post("/documents", files=files[1:], headers=AUTH)  # nothing can be added: 422, each file named
    assert r.status_code == 422 and "多文件空.txt" in r.json()["detail"] and "tool.exe" in r.json()["detail"]


def gradio_call(http: httpx.Client, base: str, api_name: str, data: list[Any]) -> dict[str, Any]:
    """Call a Gradio event through its queue API as a browser would, and return the final message."""
    config = http.get(f"{base}/config").json()
    fn_index = next(i for i, d in enumerate(config["dependencies"]) if d.get("api_name") == api_name)
    session = secrets.token_hex(6)
    body = {"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None}
    r = http.post(f"{base}/gradio_api/queue/join", json=body)
    assert r.status_code == 200, r.text
    with http.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                message: dict[str, Any] = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the Gradio event did not complete")


def test_ui_upload_refuses_a_server_path(http: httpx.Client, server: Server, tmp_path: Path) -> None:
    secret = tmp_path / "server-secret.txt"
    secret.write_text("机密：金沙湾项目底价为每亩987654元。\n", encoding="utf-8")
    before = corpus_state(server)
    forged = {"path": str(secret), "orig_name": "server-secret.txt", "meta": {"_type": "gradio.FileData"}}
    message = gradio_call(http, "/ui", "upload", [[forged], KEY])
    assert "987654" not in json.dumps(message, ensure_ascii=False)
    assert corpus_state(server) == before
    search = http.post("/ask", json={"question": "金沙湾项目底价每亩多少元？"}).json()
    assert "987654" not in json.dumps(search, ensure_ascii=False)
    copied = [p for p in (server.work.parent / "gradio-tmp").rglob("*") if p.is_file() and b"987654" in p.read_bytes()]
    assert not copied, f"Gradio copied the server file: {copied}"


# --- request bodies and odd input (issue: reliability) -----------------------------------------------------------


def raw_request(server: Server, head: str, body_chunks: Sequence[bytes] = ()) -> tuple[int, bytes]:
    """Send a hand-written HTTP/1.1 request (headers that httpx would correct) and return the status and body."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n")
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed while the body was still coming: what is tested here
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4 + _length(data):
            block = sock.recv(65536)
            if not block:
                break
            data += block
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1]


def _length(data: bytes) -> int:
    head = data.split(b"\r\n\r\n", 1)[0].lower()
    for line in head.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


@pytest.mark.parametrize(("path", "size"), [("/ask", 600 * 1024 * 1024), ("/documents", 200 * 1024 * 1024)])
def test_a_declared_oversized_body_is_refused_before_it_is_read(server: Server, path: str, size: int) -> None:
    started = time.monotonic()
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {size}"
    status, body = raw_request(server, head)
    assert status == 413 and b"limit" in body, body
    assert time.monotonic() - started < 10  # answered at once: nothing of the body was sent


def test_a_streamed_body_over_the_limit_is_refused_while_it_streams(server: Server, http: httpx.Client) -> None:
    head = "POST /ask HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
    block = b"x" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(block), block) for _ in range(48)]  # 3 MB over a 2 MB limit
    status, body = raw_request(server, head, chunks)
    assert status == 413 and b"limit" in body, body
    assert http.get("/health").status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/ask", '{"question": "\\ud800"}'),
        (
            "/ask",
            '{"question": "恒口示范区新建标准化厂房多少平方米？", "history": [{"role": "user", "content": "\\ud800"}]}',
        ),
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "\\ud800"}]}'),
        ("/v1/chat/completions", '{"stream": true, "messages": [{"role": "user", "content": "\\ud800"}]}'),
    ],
)
def test_a_lone_surrogate_is_a_422_not_a_500(http: httpx.Client, path: str, body: str) -> None:
    r = http.post(path, content=body.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert "surrogate" in r.text or "unicode" in r.text, r.text  # our message, or pydantic's


def test_a_document_offset_beyond_64_bits_is_a_422(http: httpx.Client) -> None:
    r = http.get("/documents", params={"offset": "9223372036854775808"})
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/ask", {"question": "恒口示范区新建标准化厂房多少平方米？", "stream": 0}),
        ("/ask", {"question": "恒口示范区新建标准化厂房多少平方米？", "filters": {"date_to": 0}}),
        ("/v1/chat/completions", {"stream": 1, "messages": [{"role": "user", "content": "恒口"}]}),
    ],
)
def test_numbers_are_not_booleans_or_dates(http: httpx.Client, path: str, body: dict[str, Any]) -> None:
    assert http.post(path, json=body).status_code == 422
