"""Conversations, their messages and the feedback on answers, kept in one database shared by every server:
a SQLite file by default, or PostgreSQL by URL (the two dialects whose upsert it writes), so that several `rag serve`
replicas behind a load balancer see the same conversations and hold no state of their own.

SQLAlchemy Core writes the SQL for each database: the same tables, the same statements (an upsert is
``INSERT … ON CONFLICT`` in both). An existing SQLite file keeps working: the tables are created only where
missing, under the names and columns they always had.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from rag.errors import ConfigError

metadata = sa.MetaData()
conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("owner", sa.Text),
)
meta = sa.Table(
    "meta", metadata, sa.Column("key", sa.Text, primary_key=True), sa.Column("value", sa.Text, nullable=False)
)
messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.Text, sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("role", sa.Text, sa.CheckConstraint("role IN ('user', 'assistant')"), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("display", sa.Text),
    sa.Column("answer", sa.Text),
    sa.Column("sources_html", sa.Text),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("conversation_id", "position"),
    sqlite_autoincrement=True,
)
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("message_id", sa.Integer, sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("rating", sa.Integer, sa.CheckConstraint("rating IN (-1, 1)"), nullable=False),
    sa.Column("comment", sa.Text),
    sa.Column("updated_at", sa.Float, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Message:
    """One stored turn: ``content`` is the plain text (what a follow-up question sees), ``display`` the rendered
    chat bubble, ``answer`` the answer contract of an assistant turn and ``sources_html`` its sources panel."""

    id: int
    position: int
    role: str
    content: str
    display: str | None = None
    answer: dict[str, Any] | None = None
    sources_html: str | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    title: str
    created_at: float
    updated_at: float


def database_url(where: str | Path) -> str:
    """The SQLAlchemy URL of ``where``: a URL as given (``postgresql://…`` is read with psycopg 3), or a path
    to a SQLite file."""
    text = str(where)
    if "://" not in text:
        return f"sqlite:///{Path(text).resolve()}"
    if text.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + text.split("://", 1)[1]
    return text


def _engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        # One short connection per call, as before (NullPool): nothing is held open between requests.
        engine = sa.create_engine(url, connect_args={"timeout": 10, "check_same_thread": False}, poolclass=sa.NullPool)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(con: Any, _record: Any) -> None:
            cur = con.cursor()
            cur.execute("PRAGMA foreign_keys=ON")  # the cascades of a deleted conversation
            cur.close()

        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
    except ImportError as exc:
        raise ConfigError(
            f"RAG_UI__DB names a {url.split('://')[0]} database but its driver is not installed ({exc}) — "
            "pip install -e '.[postgres]' (psycopg 3) for PostgreSQL"
        ) from exc


class ConversationStore:
    """Thread- and process-safe access to the conversations database (``where``: a SQLite file or a URL)."""

    def __init__(self, where: str | Path) -> None:
        self.url = database_url(where)
        if self.url.startswith("sqlite:///"):
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self._engine = _engine(self.url)
        self._upsert = postgresql.insert if self._engine.dialect.name == "postgresql" else sqlite.insert
        self._lock = threading.Lock()
        try:
            with self._engine.begin() as con:
                if self._engine.dialect.name == "sqlite":
                    con.exec_driver_sql("PRAGMA journal_mode=WAL")  # readers never wait for the writer
                metadata.create_all(con, checkfirst=True)
                columns = {c["name"] for c in sa.inspect(con).get_columns("conversations")}
                if "owner" not in columns:  # a file from before conversations had owners: theirs is no one's
                    con.execute(sa.text("ALTER TABLE conversations ADD COLUMN owner TEXT"))
        except sa.exc.OperationalError as exc:
            raise ConfigError(
                f"cannot open the conversations database {self.describe()}: {exc.orig} — check RAG_UI__DB"
            ) from exc

    def describe(self) -> str:
        """The database, with any password left out (for messages and logs)."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self._engine.dispose()

    # --- conversations ----------------------------------------------------------------------------------------

    def create(self, title: str, *, owner: str | None = None) -> str:
        """A new conversation named after its first question, kept for ``owner`` (a browser's id); its id."""
        cid = uuid.uuid4().hex[:16]
        now = time.time()
        with self._engine.begin() as con:
            con.execute(
                conversations.insert().values(
                    id=cid, title=title.strip()[:80] or "…", created_at=now, updated_at=now, owner=owner
                )
            )
        return cid

    def conversations(
        self, *, owner: str | None = None, everyone: bool = False, limit: int = 100
    ) -> list[Conversation]:
        """``owner``'s conversations (or, with ``everyone``, all of them), the most recently used first."""
        c = conversations.c
        query = sa.select(c.id, c.title, c.created_at, c.updated_at).order_by(c.updated_at.desc()).limit(limit)
        if not everyone:
            query = query.where(c.owner.is_not_distinct_from(owner))
        with self._engine.connect() as con:
            return [Conversation(*r) for r in con.execute(query)]

    def owner_of(self, cid: str) -> str | None:
        with self._engine.connect() as con:
            owner: str | None = con.execute(sa.select(conversations.c.owner).where(conversations.c.id == cid)).scalar()
        return owner

    def secret(self) -> str:
        """A random secret made once per database, for what the UI keeps in browsers (their owner id); every
        replica on the database gets the same one."""
        with self._lock, self._engine.begin() as con:
            insert = self._upsert(meta).values(key="secret", value=secrets.token_urlsafe(24))
            con.execute(insert.on_conflict_do_nothing(index_elements=["key"]))
            return str(con.execute(sa.select(meta.c.value).where(meta.c.key == "secret")).scalar_one())

    def delete(self, cid: str) -> None:
        with self._engine.begin() as con:
            con.execute(conversations.delete().where(conversations.c.id == cid))

    # --- messages ---------------------------------------------------------------------------------------------

    def add_message(
        self,
        cid: str,
        role: str,
        content: str,
        *,
        display: str | None = None,
        answer: dict[str, Any] | None = None,
        sources_html: str | None = None,
    ) -> Message:
        """Append a message to conversation ``cid``; its position is the next index in the chat."""
        now = time.time()
        m = messages.c
        with self._lock, self._engine.begin() as con:
            # Touching the conversation first locks it (its row in PostgreSQL, the file in SQLite) until the
            # commit: two servers adding to one conversation at once take turns for the next position.
            con.execute(conversations.update().where(conversations.c.id == cid).values(updated_at=now))
            position = con.execute(
                sa.select(sa.func.coalesce(sa.func.max(m.position) + 1, 0)).where(m.conversation_id == cid)
            ).scalar_one()
            inserted = con.execute(
                messages.insert().values(
                    conversation_id=cid,
                    position=position,
                    role=role,
                    content=content,
                    display=display,
                    answer=json.dumps(answer, ensure_ascii=False) if answer is not None else None,
                    sources_html=sources_html,
                    created_at=now,
                )
            )
            (message_id,) = inserted.inserted_primary_key or (0,)
        return Message(int(message_id), int(position), role, content, display, answer, sources_html)

    def messages(self, cid: str) -> list[Message]:
        m = messages.c
        query = (
            sa.select(m.id, m.position, m.role, m.content, m.display, m.answer, m.sources_html)
            .where(m.conversation_id == cid)
            .order_by(m.position)
        )
        with self._engine.connect() as con:
            rows = con.execute(query).all()
        return [Message(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None, r[6]) for r in rows]

    def message_at(self, cid: str, position: int) -> Message | None:
        return next((m for m in self.messages(cid) if m.position == position), None)

    # --- feedback ---------------------------------------------------------------------------------------------

    def set_feedback(self, message_id: int, rating: int | None, comment: str | None = None) -> None:
        """Record a thumbs up (1) or down (-1) on an answer, keeping an earlier comment unless one is given;
        ``rating=None`` removes the feedback."""
        now = time.time()
        with self._engine.begin() as con:
            if rating is None:
                con.execute(feedback.delete().where(feedback.c.message_id == message_id))
                return
            insert = self._upsert(feedback).values(
                message_id=message_id, rating=rating, comment=comment, updated_at=now
            )
            con.execute(
                insert.on_conflict_do_update(
                    index_elements=["message_id"],
                    set_={
                        "rating": insert.excluded.rating,
                        "comment": sa.func.coalesce(insert.excluded.comment, feedback.c.comment),
                        "updated_at": insert.excluded.updated_at,
                    },
                )
            )

    def set_comment(self, message_id: int, comment: str) -> bool:
        """Attach ``comment`` to the feedback on ``message_id``; False when the answer was not rated yet."""
        with self._engine.begin() as con:
            updated = con.execute(
                feedback.update()
                .where(feedback.c.message_id == message_id)
                .values(comment=comment.strip() or None, updated_at=time.time())
            )
        return bool(updated.rowcount)

    def feedback(self, message_id: int) -> tuple[int, str | None] | None:
        query = sa.select(feedback.c.rating, feedback.c.comment).where(feedback.c.message_id == message_id)
        with self._engine.connect() as con:
            row = con.execute(query).first()
        return (int(row[0]), row[1]) if row else None

    def all_feedback(self) -> list[dict[str, Any]]:
        """Every rated answer with its question, for review or export."""
        question = messages.alias("q")
        f, m, q = feedback.c, messages.c, question.c
        query = (
            sa.select(m.conversation_id, q.content, m.content, f.rating, f.comment, f.updated_at)
            .select_from(
                feedback.join(messages, m.id == f.message_id).outerjoin(
                    question, sa.and_(q.conversation_id == m.conversation_id, q.position == m.position - 1)
                )
            )
            .order_by(f.updated_at)
        )
        with self._engine.connect() as con:
            rows = con.execute(query).all()
        keys = ("conversation", "question", "answer", "rating", "comment", "at")
        return [dict(zip(keys, r, strict=True)) for r in rows]
