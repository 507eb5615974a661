"""Answers written by an LLM behind an OpenAI-compatible `/chat/completions` endpoint (llama.cpp, vLLM, Ollama,
OpenAI…), streamed over Server-Sent Events with httpx; every failure becomes a ``GenerationError`` that says
which setting to fix."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Generator as PieceStream
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rag.errors import BackendUnavailableError, GenerationError
from rag.followup import clean_rewrite, rewrite_messages
from rag.prompting import TokenCounter, build_prompt, estimate_tokens, is_not_found, not_found_phrase
from rag.types import Draft, Hit

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

_CONTEXT_OVERFLOW_RE = re.compile(r"context|too long|exceed|n_ctx|maximum .*tokens", re.I)
_MAX_RETRY_AFTER_S = 10.0
_MAX_SHRINKS = 2  # times the passage budget is halved when the server says the prompt overflows its window


class _Retryable(Exception):
    """A failure worth another try when nothing has been streamed yet (connection, 5xx, 429)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class _ContextOverflow(Exception):
    """The server refused the prompt as longer than its context window."""


class OpenAICompatibleGenerator:
    """Grounded answers from a chat model: numbered passages in, ``[n]``-cited text streamed out."""

    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.1,
        max_tokens: int = 512,
        timeout_s: float = 60.0,
        *,
        max_retries: int = 2,
        context_tokens: int = 4096,
        backoff_s: float = 0.5,
        rewrite_timeout_s: float = 10.0,
        count_tokens: TokenCounter | None = None,
    ) -> None:
        try:
            import httpx
        except ImportError as exc:
            raise BackendUnavailableError(
                "generator backend 'openai' needs httpx; install it with `pip install httpx`"
            ) from exc
        self._httpx = httpx
        self.base_url = base_url.rstrip("/") if base_url else None
        self.model = model
        self.api_key = api_key
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.context_tokens = context_tokens
        self.backoff_s = backoff_s
        self.rewrite_timeout_s = rewrite_timeout_s
        self.count_tokens = count_tokens or estimate_tokens
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    # --- answering ---------------------------------------------------------------------------------------

    def generate(self, question: str, hits: Sequence[Hit]) -> PieceStream[str, None, Draft]:
        """Stream the model's answer; retry before the first piece, never after (the text is already out)."""
        if not hits:
            yield not_found_phrase(question)
            return Draft(short_answer=None, grounded=False, reason="no passages were retrieved")
        context = self.context_tokens
        attempt = shrinks = 0
        pieces: list[str] = []
        finish: list[str] = []
        while True:
            prompt = build_prompt(
                question, hits, context_tokens=context, max_tokens=self.max_tokens, count_tokens=self.count_tokens
            )
            if prompt.n_passages == 0:
                raise GenerationError(
                    f"a context of {context} tokens leaves no room for a passage after {self.max_tokens} answer "
                    "tokens; raise RAG_GENERATOR__CONTEXT_TOKENS or lower RAG_GENERATOR__MAX_TOKENS"
                )
            body = self._body(prompt.messages, max_tokens=self.max_tokens, temperature=self.temperature)
            try:
                for piece in self._stream(body, finish):
                    pieces.append(piece)
                    yield piece
                break
            except _Retryable as exc:
                if pieces:
                    n = len("".join(pieces))
                    raise GenerationError(f"the LLM stream broke off after {n} characters: {exc}") from None
                if attempt >= self.max_retries:
                    raise GenerationError(f"{exc} (after {attempt + 1} attempts)") from None
                self._sleep_before_retry(attempt, exc.retry_after)
                attempt += 1
            except _ContextOverflow as exc:
                if pieces or shrinks >= _MAX_SHRINKS:
                    raise GenerationError(
                        f"the prompt does not fit the model's context window ({exc}); "
                        "lower RAG_GENERATOR__CONTEXT_TOKENS to the server's window"
                    ) from None
                shrinks += 1
                context = self.max_tokens + (context - self.max_tokens) // 2
                log.info("prompt overflowed the model's window; retrying with a %d-token context", context)
        text = "".join(pieces)
        if is_not_found(text):
            return Draft(short_answer=None, grounded=False, reason="the model found no answer in the passages")
        reason = "the answer was cut at RAG_GENERATOR__MAX_TOKENS" if finish == ["length"] else None
        return Draft(short_answer=None, grounded=True, reason=reason)

    def rewrite(self, question: str, history: Sequence[Mapping[str, str]]) -> str:
        """``question`` rewritten as a standalone question given ``history`` (one short non-streamed call)."""
        body = self._body(rewrite_messages(question, history), max_tokens=96, temperature=0.0)
        body["stream"] = False
        timeout = min(self.timeout_s, self.rewrite_timeout_s)
        for attempt in range(self.max_retries + 1):
            try:
                reply = self._complete(body, timeout)
                break
            except _Retryable as exc:
                if attempt >= self.max_retries:
                    raise GenerationError(str(exc)) from None
                self._sleep_before_retry(attempt, exc.retry_after)
            except _ContextOverflow as exc:
                raise GenerationError(f"the rewrite prompt does not fit the model's window ({exc})") from None
        rewritten = clean_rewrite(reply)
        if rewritten is None:
            raise GenerationError(f"the model's rewrite is not a question: {reply[:80]!r}")
        return rewritten

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    # --- HTTP --------------------------------------------------------------------------------------------

    def _client_for_requests(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                self._client = self._httpx.Client(timeout=self.timeout_s, headers=headers)
            return self._client

    def _url(self, path: str) -> str:
        if not self.base_url:
            raise GenerationError(
                "no LLM server configured: set RAG_GENERATOR__BASE_URL (e.g. http://127.0.0.1:8080/v1)"
            )
        return f"{self.base_url}{path}"

    def _body(self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float) -> dict[str, Any]:
        return {
            "model": self._model(),
            "messages": messages,
            "stream": True,
            "temperature": temperature,
            "max_tokens": max_tokens,
        }

    def _model(self) -> str:
        """The configured model, or the first one the server lists (single-model servers such as llama.cpp)."""
        if self.model:
            return self.model
        models = self._list_models()
        if not models:
            raise GenerationError(f"the LLM server at {self.base_url} lists no model; set RAG_GENERATOR__MODEL")
        self.model = models[0]
        return self.model

    def _list_models(self) -> list[str]:
        httpx = self._httpx
        url = self._url("/models")
        try:
            r = self._client_for_requests().get(url)
        except httpx.HTTPError as exc:
            raise GenerationError(self._transport_message(url, exc)) from None
        if r.status_code != 200:
            raise GenerationError(
                f"cannot list the models at {url} ({r.status_code}); set RAG_GENERATOR__MODEL "
                "(and check RAG_GENERATOR__BASE_URL)"
            )
        try:
            return [str(m["id"]) for m in r.json().get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise GenerationError(f"{url} did not answer with a model list; set RAG_GENERATOR__MODEL") from None

    def _stream(self, body: dict[str, Any], finish: list[str]) -> Iterator[str]:
        """The content pieces of one streamed completion; ``finish`` gets the finish reason."""
        httpx = self._httpx
        url = self._url("/chat/completions")
        done = False
        try:
            with self._client_for_requests().stream("POST", url, json=body) as response:
                if response.status_code != 200:
                    response.read()
                    self._raise_for_status(response, url)
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue  # comments, "event:", "id:", blank separators
                    data = line[5:].strip()
                    if data == "[DONE]":
                        done = True
                        break
                    content, reason = _parse_chunk(data, url)
                    if reason:
                        finish[:] = [reason]
                        done = True
                    if content:
                        yield content
        except httpx.UnsupportedProtocol as exc:
            raise GenerationError(f"RAG_GENERATOR__BASE_URL {self.base_url!r} is not an http(s) URL ({exc})") from None
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
                raise _Retryable(self._transport_message(url, exc)) from None
            raise GenerationError(self._transport_message(url, exc)) from None
        except httpx.TransportError as exc:  # refused, reset, closed mid-response
            raise _Retryable(self._transport_message(url, exc)) from None
        except httpx.HTTPError as exc:
            raise GenerationError(self._transport_message(url, exc)) from None
        if not done:
            raise _Retryable(f"the LLM server at {url} closed the stream before it finished")

    def _complete(self, body: dict[str, Any], timeout: float) -> str:
        """The message text of one non-streamed completion."""
        httpx = self._httpx
        url = self._url("/chat/completions")
        try:
            response = self._client_for_requests().post(url, json=body, timeout=timeout)
        except httpx.UnsupportedProtocol as exc:
            raise GenerationError(f"RAG_GENERATOR__BASE_URL {self.base_url!r} is not an http(s) URL ({exc})") from None
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
            raise _Retryable(self._transport_message(url, exc)) from None
        except httpx.HTTPError as exc:
            raise GenerationError(self._transport_message(url, exc)) from None
        if response.status_code != 200:
            self._raise_for_status(response, url)
        try:
            return str(response.json()["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError):
            raise GenerationError(f"{url} answered with something other than a chat completion") from None

    def _raise_for_status(self, response: httpx.Response, url: str) -> None:
        status = response.status_code
        detail = " ".join(response.text.split())[:300]
        if status in (401, 403):
            raise GenerationError(
                f"the LLM server at {self.base_url} refused the API key ({status}); set RAG_GENERATOR__API_KEY"
            )
        if status == 404:
            if "model" in detail.lower():
                raise GenerationError(
                    f"model {self.model!r} is not served at {self.base_url} (404: {detail}); "
                    "set RAG_GENERATOR__MODEL to one that `GET /models` lists"
                )
            raise GenerationError(
                f"no chat completions endpoint at {url} (404); RAG_GENERATOR__BASE_URL must be the API root, "
                "usually ending in /v1 (e.g. http://127.0.0.1:8080/v1)"
            )
        if status == 429 or status >= 500:
            retry_after = response.headers.get("retry-after", "")
            wait = float(retry_after) if re.fullmatch(r"\d+(?:\.\d+)?", retry_after) else None
            raise _Retryable(f"the LLM server at {self.base_url} answered {status}: {detail}", wait)
        if status in (400, 413, 422) and _CONTEXT_OVERFLOW_RE.search(detail):
            raise _ContextOverflow(detail)
        raise GenerationError(f"the LLM server at {self.base_url} rejected the request ({status}): {detail}")

    def _transport_message(self, url: str, exc: Exception) -> str:
        httpx = self._httpx
        what = type(exc).__name__ + (f": {exc}" if str(exc) else "")
        if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
            return (
                f"cannot reach the LLM server at {url} ({what}); start it or set RAG_GENERATOR__BASE_URL "
                "(e.g. http://127.0.0.1:8080/v1)"
            )
        if isinstance(exc, httpx.TimeoutException):
            return (
                f"the LLM server at {url} sent nothing for {self.timeout_s:g} s ({what}); check it or raise "
                "RAG_GENERATOR__TIMEOUT_S"
            )
        return f"the request to the LLM server at {url} failed ({what})"

    def _sleep_before_retry(self, attempt: int, retry_after: float | None) -> None:
        delay = min(retry_after, _MAX_RETRY_AFTER_S) if retry_after is not None else self.backoff_s * 2**attempt
        log.warning("LLM request failed; retry %d of %d in %.2f s", attempt + 1, self.max_retries, delay)
        time.sleep(delay)


def _parse_chunk(data: str, url: str) -> tuple[str, str | None]:
    """The content and finish reason of one SSE ``data:`` payload."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise GenerationError(f"the LLM server at {url} sent a malformed stream event: {data[:120]!r}") from None
    if not isinstance(chunk, dict):
        raise GenerationError(f"the LLM server at {url} sent an unexpected stream event: {data[:120]!r}")
    if chunk.get("error"):
        error = chunk["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise GenerationError(f"the LLM server at {url} reported an error mid-stream: {message}")
    choices = chunk.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return "", None  # e.g. a final usage-only chunk
    delta = choices[0].get("delta") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    return (content if isinstance(content, str) else ""), choices[0].get("finish_reason")
