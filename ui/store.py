"""Conversations, their messages and the feedback on answers, kept in one SQLite file on the server."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    owner TEXT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    display TEXT,
    answer TEXT,
    sources_html TEXT,
    created_at REAL NOT NULL,
    UNIQUE (conversation_id, position)
);
CREATE TABLE IF NOT EXISTS feedback (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT,
    updated_at REAL NOT NULL
);
"""


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


class ConversationStore:
    """Thread-safe access to the UI's SQLite file (one short connection per call; WAL for concurrent readers)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(SCHEMA)
            columns = {row[1] for row in con.execute("PRAGMA table_info(conversations)")}
            if "owner" not in columns:  # a file from before conversations had owners: theirs is no one's
                con.execute("ALTER TABLE conversations ADD COLUMN owner TEXT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=10)
        try:
            con.execute("PRAGMA foreign_keys=ON")
            with con:
                yield con
        finally:
            con.close()

    # --- conversations ----------------------------------------------------------------------------------------

    def create(self, title: str, *, owner: str | None = None) -> str:
        """A new conversation named after its first question, kept for ``owner`` (a browser's id); its id."""
        cid = uuid.uuid4().hex[:16]
        now = time.time()
        with self._lock, self._connect() as con:
            con.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at, owner) VALUES (?, ?, ?, ?, ?)",
                (cid, title.strip()[:80] or "…", now, now, owner),
            )
        return cid

    def conversations(
        self, *, owner: str | None = None, everyone: bool = False, limit: int = 100
    ) -> list[Conversation]:
        """``owner``'s conversations (or, with ``everyone``, all of them), the most recently used first."""
        where, args = ("", ()) if everyone else ("WHERE owner IS ?", (owner,))
        with self._connect() as con:
            rows = con.execute(
                f"SELECT id, title, created_at, updated_at FROM conversations {where} ORDER BY updated_at DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [Conversation(*r) for r in rows]

    def owner_of(self, cid: str) -> str | None:
        with self._connect() as con:
            row = con.execute("SELECT owner FROM conversations WHERE id = ?", (cid,)).fetchone()
        return row[0] if row else None

    def secret(self) -> str:
        """A random secret made once per file, for what the UI keeps in browsers (their owner id)."""
        with self._lock, self._connect() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
            if row:
                return str(row[0])
            value = secrets.token_urlsafe(24)
            con.execute("INSERT INTO meta (key, value) VALUES ('secret', ?)", (value,))
            return value

    def delete(self, cid: str) -> None:
        with self._lock, self._connect() as con:
            con.execute("DELETE FROM conversations WHERE id = ?", (cid,))

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
        with self._lock, self._connect() as con:
            (position,) = con.execute(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM messages WHERE conversation_id = ?", (cid,)
            ).fetchone()
            cur = con.execute(
                "INSERT INTO messages (conversation_id, position, role, content, display, answer, sources_html, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    cid,
                    position,
                    role,
                    content,
                    display,
                    json.dumps(answer, ensure_ascii=False) if answer is not None else None,
                    sources_html,
                    now,
                ),
            )
            con.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, cid))
        return Message(int(cur.lastrowid or 0), int(position), role, content, display, answer, sources_html)

    def messages(self, cid: str) -> list[Message]:
        with self._connect() as con:
            rows = con.execute(
                "SELECT id, position, role, content, display, answer, sources_html FROM messages "
                "WHERE conversation_id = ? ORDER BY position",
                (cid,),
            ).fetchall()
        return [Message(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None, r[6]) for r in rows]

    def message_at(self, cid: str, position: int) -> Message | None:
        return next((m for m in self.messages(cid) if m.position == position), None)

    # --- feedback ---------------------------------------------------------------------------------------------

    def set_feedback(self, message_id: int, rating: int | None, comment: str | None = None) -> None:
        """Record a thumbs up (1) or down (-1) on an answer, keeping an earlier comment unless one is given;
        ``rating=None`` removes the feedback."""
        now = time.time()
        with self._lock, self._connect() as con:
            if rating is None:
                con.execute("DELETE FROM feedback WHERE message_id = ?", (message_id,))
                return
            con.execute(
                "INSERT INTO feedback (message_id, rating, comment, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(message_id) DO UPDATE SET rating = excluded.rating, "
                "comment = COALESCE(excluded.comment, feedback.comment), updated_at = excluded.updated_at",
                (message_id, rating, comment, now),
            )

    def set_comment(self, message_id: int, comment: str) -> bool:
        """Attach ``comment`` to the feedback on ``message_id``; False when the answer was not rated yet."""
        with self._lock, self._connect() as con:
            cur = con.execute(
                "UPDATE feedback SET comment = ?, updated_at = ? WHERE message_id = ?",
                (comment.strip() or None, time.time(), message_id),
            )
        return cur.rowcount > 0

    def feedback(self, message_id: int) -> tuple[int, str | None] | None:
        with self._connect() as con:
            row = con.execute("SELECT rating, comment FROM feedback WHERE message_id = ?", (message_id,)).fetchone()
        return (int(row[0]), row[1]) if row else None

    def all_feedback(self) -> list[dict[str, Any]]:
        """Every rated answer with its question, for review or export."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT m.conversation_id, q.content, m.content, f.rating, f.comment, f.updated_at "
                "FROM feedback f JOIN messages m ON m.id = f.message_id "
                "LEFT JOIN messages q ON q.conversation_id = m.conversation_id AND q.position = m.position - 1 "
                "ORDER BY f.updated_at"
            ).fetchall()
        keys = ("conversation", "question", "answer", "rating", "comment", "at")
        return [dict(zip(keys, r, strict=True)) for r in rows]
