"""The UI's conversations and feedback in a database every serving replica shares: the same store behaves
the same on a SQLite file and on a real PostgreSQL server (started by the `postgres_url` fixture), and two
stores on one database — two replicas — see each other's conversations, agree on the browser secret and never
give two messages of one conversation the same position when they write at once."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from ui.store import ConversationStore

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database of each kind: a SQLite file, or a new database on the session's PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "ui.sqlite")
    import sqlalchemy as sa

    server: str = request.getfixturevalue("postgres_url")
    name = "ui_" + uuid.uuid4().hex[:8]
    admin = sa.create_engine(server.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.rsplit("/", 1)[0] + "/" + name


def test_conversations_messages_and_feedback_round_trip(where: str) -> None:
    store = ConversationStore(where)
    mine = store.create("恒口示范区新建标准化厂房多少平方米？", owner="browser-a")
    theirs = store.create("海陵区建设街头游园多少个？", owner="browser-b")
    nobodys = store.create("衡水湖蓄水量是多少？")
    assert [c.id for c in store.conversations(owner="browser-a")] == [mine]
    assert [c.id for c in store.conversations()] == [nobodys]  # owner IS NULL, in both dialects
    assert {c.id for c in store.conversations(everyone=True)} == {mine, theirs, nobodys}
    store.add_message(mine, "user", "恒口示范区新建标准化厂房多少平方米？")
    answer = {"short_answer": "3.1万平方米", "grounded": True, "citations": [{"source": "000.txt"}]}
    reply = store.add_message(mine, "assistant", "3.1万平方米 [1]", answer=answer, sources_html="<div/>")
    assert reply.position == 1 and reply.id > 0
    assert [(m.position, m.role) for m in store.messages(mine)] == [(0, "user"), (1, "assistant")]
    assert store.message_at(mine, 1) == reply and store.messages(mine)[1].answer == answer

    assert not store.set_comment(reply.id, "还没打分")  # no rating yet: nothing to attach it to
    store.set_feedback(reply.id, -1, "出处对，数字错")
    store.set_feedback(reply.id, 1)  # a new rating keeps the earlier comment
    assert store.feedback(reply.id) == (1, "出处对，数字错")
    assert store.set_comment(reply.id, "好")
    assert store.all_feedback()[0] | {"at": 0} == {
        "conversation": mine,
        "question": "恒口示范区新建标准化厂房多少平方米？",
        "answer": "3.1万平方米 [1]",
        "rating": 1,
        "comment": "好",
        "at": 0,
    }
    store.set_feedback(reply.id, None)
    assert store.feedback(reply.id) is None

    store.delete(mine)  # its messages go with it
    assert store.messages(mine) == [] and store.owner_of(mine) is None
    store.close()


def test_two_replicas_share_one_database(where: str) -> None:
    a, b = ConversationStore(where), ConversationStore(where)
    assert a.secret() == b.secret()  # a browser's owner id signed by one replica is read by the other
    cid = a.create("石泉县2022年新建农村公路多少公里？", owner="browser-a")
    assert [c.id for c in b.conversations(owner="browser-a")] == [cid]

    errors: list[BaseException] = []

    def write(store: ConversationStore, who: str) -> None:
        try:
            for i in range(15):
                store.add_message(cid, "user" if who == "a" else "assistant", f"{who}{i}")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, w)) for s, w in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stored = b.messages(cid)
    assert [m.position for m in stored] == list(range(30))
    assert sorted(m.content for m in stored) == sorted([f"a{i}" for i in range(15)] + [f"b{i}" for i in range(15)])
    a.close()
    b.close()


def test_a_database_that_cannot_be_reached_is_a_clear_error(postgres_url: str) -> None:
    from rag.errors import ConfigError

    unreachable = postgres_url.rsplit(":", 1)[0] + ":1/postgres"  # nothing listens on port 1
    with pytest.raises(ConfigError, match="RAG_UI__DB"):
        ConversationStore(unreachable)
