"""Request and response models of the HTTP API (pydantic), with Chinese examples for the OpenAPI page."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr, field_validator

from rag.errors import InvalidQueryError
from rag.pipeline import MAX_QUESTION_CHARS, check_text, validate_question
from rag.service import NO_FILTERS
from rag.service import Filters as RetrievalFilters

EXAMPLE_QUESTION = "恒口示范区新建标准化厂房多少平方米？"


def _date_text(value: object) -> object:
    """A day as text ("2021-09-09"): lax parsing would read the number 0 as 1970-01-01."""
    if not isinstance(value, str | datetime.date):
        raise ValueError("a date is a string such as 2021-09-09")
    return value


StrictDate = Annotated[datetime.date, BeforeValidator(_date_text)]


def _checked_question(value: str) -> str:
    try:
        return validate_question(value)
    except InvalidQueryError as exc:  # pydantic turns a ValueError into a 422 naming the field
        raise ValueError(str(exc)) from None


def _checked_text(value: str) -> str:
    try:
        return check_text(value, what="the message")
    except InvalidQueryError as exc:
        raise ValueError(str(exc)) from None


class Message(BaseModel):
    """One turn of a conversation."""

    role: Literal["system", "user", "assistant"]
    content: StrictStr

    _content = field_validator("content")(_checked_text)


class Filters(BaseModel):
    """Restrict retrieval."""

    doc_ids: list[str] | None = Field(None, description="Only passages of these documents (ids from `/documents`).")
    date_from: StrictDate | None = Field(None, description="Only documents dated on or after this day.")
    date_to: StrictDate | None = Field(None, description="Only documents dated on or before this day.")


class AskRequest(BaseModel):
    """A question about the corpus."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": EXAMPLE_QUESTION},
                {"question": "海陵区建设街头游园多少个？", "top_k": 5, "stream": True},
                {
                    "question": "衡水市对产能严重过剩行业的新增项目怎么处理？",
                    "backend": "extractive",
                    "history": [{"role": "user", "content": "衡水市2017年的重点项目有哪些？"}],
                },
            ]
        },
    )

    question: StrictStr = Field(
        description=f"The question (1–{MAX_QUESTION_CHARS} characters, not only spaces).",
        # Documented here, checked by `validate_question` (whose messages say what to do).
        json_schema_extra={"minLength": 1, "maxLength": MAX_QUESTION_CHARS, "pattern": r"\S"},
    )
    top_k: int | None = Field(None, ge=1, le=100, description="Passages retrieved (default: settings).")
    history: list[Message] = Field(
        default_factory=list,
        max_length=100,
        description="Earlier turns: a follow-up such as 「那2020年呢？」 is rewritten into a standalone question.",
    )
    backend: str | None = Field(None, description="Answer backend (`GET /v1/models` lists them, without `rag-`).")
    stream: StrictBool = Field(False, description="Answer as Server-Sent Events: `piece`…, `answer`, `done`.")
    filters: Filters | None = Field(None, description="Retrieval filters.")
    kb: StrictStr | list[StrictStr] | None = Field(
        None,
        description="The knowledge base(s) to answer from (`GET /kbs`; default: `default`). Several are searched "
        "together, their passages ranked by score; each citation names its `kb`.",
    )

    _question = field_validator("question")(_checked_question)

    def retrieval_filters(self) -> RetrievalFilters:
        """The retrieval filters, for the service."""
        f = self.filters
        if f is None:
            return NO_FILTERS
        return RetrievalFilters(
            doc_ids=f.doc_ids,
            date_from=f.date_from.isoformat() if f.date_from else None,
            date_to=f.date_to.isoformat() if f.date_to else None,
        )

    def turns(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.content} for m in self.history]

    def kbs(self) -> list[str]:
        return [self.kb] if isinstance(self.kb, str) else list(self.kb or [])


class CitationModel(BaseModel):
    n: int = Field(description="The number of the `[n]` marker in the answer text.")
    doc_id: str
    title: str
    source: str
    chunk_id: str
    text: str = Field(description="The cited passage: the document's text[start:end].")
    start: int
    end: int
    score: float
    pages: list[int] = Field(
        default_factory=list, description="The pages of a paged source (PDF, scan) the passage lies on; [] if none."
    )
    ocr: bool = Field(default=False, description="Whether the passage was read from a scanned page by OCR.")
    kb: str = Field(default="", description="The knowledge base the passage is from (`GET /kbs`).")


class AnswerModel(BaseModel):
    """The answer contract (`Answer.to_dict()`), the same as `rag ask --json`."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "question": EXAMPLE_QUESTION,
                    "answer": "新建标准化厂房3.1万平方米;引进外资企业1户,全面完成下达指标任务 [1]",
                    "short_answer": "3.1万平方米",
                    "grounded": True,
                    "citations": [
                        {
                            "n": 1,
                            "doc_id": "3f1c0a9e5b7d2c48",
                            "title": "跑出追赶超越加速度",
                            "source": "corpus/000_陕西安康恒口示范区_2020-05-14_跑出追赶超越加速度.txt",
                            "chunk_id": "3f1c0a9e5b7d2c48-0003",
                            "text": "……标准化厂房3.1万平方米;引进外资企业1户……",
                            "start": 812,
                            "end": 1104,
                            "score": 0.032,
                        }
                    ],
                    "backend": "extractive",
                    "timings_ms": {"retrieve": 21.4, "generate": 3.2, "total": 24.9},
                }
            ]
        },
    )

    question: str
    answer: str
    short_answer: str | None = Field(
        description="The exact span of the first citation that answers (a figure with its unit and qualifier, "
        "a date, a name), shown first; null when there is none."
    )
    grounded: bool
    no_figure: bool = Field(
        False, description="A figure was asked for; the quoted sentence names the subject but gives no such figure."
    )
    reader_probability: float | None = Field(
        None,
        description="The short answer was read by the learned reader: its calibrated probability of being right "
        "(null: the short answer comes from the figure and date rules, or there is none).",
    )
    citations: list[CitationModel]
    backend: str
    timings_ms: dict[str, float]


# --- OpenAI-compatible ----------------------------------------------------------------------------------------


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return check_text("".join(p.text or "" for p in self.content if p.type == "text"), what="a message")
        return check_text(self.content or "", what="a message")


class ChatCompletionRequest(BaseModel):
    """An OpenAI chat completion request; the last user message is answered from the corpus."""

    model_config = ConfigDict(
        extra="allow",  # temperature, max_tokens, … are accepted and ignored
        json_schema_extra={
            "examples": [
                {"model": "rag-extractive", "messages": [{"role": "user", "content": EXAMPLE_QUESTION}]},
                {
                    "model": "rag-extractive",
                    "stream": True,
                    "messages": [
                        {"role": "system", "content": "你是报告问答助手。"},
                        {"role": "user", "content": "2017年1-8月衡水140项省市重点项目完成投资多少？"},
                    ],
                },
            ]
        },
    )

    model: str = Field(
        "rag-extractive",
        description="`rag-<backend>` (the default knowledge base), a knowledge base's name (its default backend) "
        "or `<kb>/rag-<backend>`; `GET /v1/models` lists them.",
    )
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: StrictBool = False
    top_k: int | None = Field(None, ge=1, le=100, description="Extension: passages retrieved.")

    def turns(self) -> list[dict[str, str]]:
        """The conversation before the last user message, as ``{role, content}`` turns for follow-ups."""
        last = max((i for i, m in enumerate(self.messages) if m.role == "user"), default=len(self.messages))
        return [{"role": m.role, "content": m.text()} for m in self.messages[:last] if m.role in ("user", "assistant")]

    def question(self) -> str:
        """The last user message, checked like any question."""
        for message in reversed(self.messages):
            if message.role == "user":
                return validate_question(message.text())
        raise InvalidQueryError("no user message to answer: add {'role': 'user', 'content': '…'} to `messages`")


class ErrorBody(BaseModel):
    """An error: `detail` (a message, or for 422 the fields at fault) and `type`; `/v1` routes answer in OpenAI's
    format instead (`error`: message, type, code)."""

    model_config = ConfigDict(extra="allow")

    detail: Any = None
    type: str | None = None
    error: dict[str, Any] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": what}
    for status, what in (
        (400, "Unknown answer backend or model (the available ones are listed)."),
        (401, "A write without the API key (`Authorization: Bearer …` or `X-API-Key`)."),
        (404, "No such document or knowledge base."),
        (409, "The change cannot be made on this index or corpus as they are."),
        (413, "The request body, or an uploaded file, is over its limit."),
        (415, "An uploaded file of a type that cannot be indexed."),
        (422, "The request does not fit the schema, or the question is empty, too long or not text."),
        (502, "The answer backend failed."),
        (503, "The index or the model is not loaded (yet), or the live build is damaged."),
        (507, "The disk under the index is full; nothing was changed."),
    )
}
STREAM_RESPONSE: dict[str, Any] = {"content": {"text/event-stream": {"schema": {}}}}  # events of JSON data


# --- documents ------------------------------------------------------------------------------------------------


class DocumentSummary(BaseModel):
    id: str
    title: str
    source: str
    date: str | None
    chunks: int


class DocumentPage(BaseModel):
    total: int
    offset: int
    limit: int
    documents: list[DocumentSummary]


class DocumentDetail(DocumentSummary):
    publisher: str | None
    content_hash: str
    text: str = Field(description="The cleaned text; citations' start/end index into it.")


class UploadedFile(BaseModel):
    """What became of one uploaded file."""

    name: str = Field(description="The file name as sent.")
    status: Literal["added", "replaced", "failed"] = Field(
        description="`replaced`: a corpus file of that name held other content before; `failed`: not added, "
        "and the corpus and the index are as they were."
    )
    source: str | None = Field(None, description="Where it was saved, relative to the corpus folder's parent.")
    documents: list[str] = Field(default_factory=list, description="Ids of the documents it became.")
    reason: str = Field("", description="Why it failed.")


class KnowledgeBaseInfo(BaseModel):
    """A knowledge base: its name, what it holds, whether this server has loaded it."""

    name: str
    description: str
    corpus: list[str] = Field(description="Its corpus folders' names.")
    built: bool = Field(description="Whether it has an index (a knowledge base without one cannot be asked).")
    documents: int
    chunks: int
    built_at: str | None
    loaded: bool = Field(description="Whether this server has opened its index (on its first question).")


class KnowledgeBaseList(BaseModel):
    kbs: list[KnowledgeBaseInfo]


class KnowledgeBaseCreated(BaseModel):
    """A knowledge base made from uploaded files."""

    kb: KnowledgeBaseInfo
    files: list[UploadedFile] = Field(description="One result per uploaded file, in order.")


class IndexChange(BaseModel):
    """What an upload or a delete did to the index."""

    build: str
    documents: list[DocumentSummary] = Field(description="The documents uploaded (empty for a delete).")
    files: list[UploadedFile] = Field(default_factory=list, description="One result per uploaded file, in order.")
    deleted: list[str] = Field(default_factory=list, description="Ids of the documents removed.")
    index: dict[str, Any] = Field(description="Counts of the new build: documents, chunks, added, removed, …")
