"""The index-building CLI end to end: `rag index build|status|verify` and `rag search` as subprocesses, with the
real default embedder (m3e-small), FAISS and BM25, on temporary copies of the seed corpus."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import CliResult, SeedIndex, Workdir

FIXTURES = Path(__file__).parents[1] / "fixtures" / "loaders"
SUMMARY_RE = re.compile(
    r"(?P<documents>\d+) documents, (?P<chunks>\d+) chunks — (?P<added>\d+) added, (?P<changed>\d+) changed, "
    r"(?P<removed>\d+) removed, (?P<unchanged>\d+) unchanged; (?P<embedded>\d+) chunks embedded"
)
HENGSHUI = "corpus/003_河北衡水_2017-10-12_凝心聚力走好发展新路.txt"
REFORM = "corpus/001_陕西安康恒口示范区_2021_全面深化改革工作综述.txt"
ANKANG_2020 = "corpus/000_陕西安康恒口示范区_2020-05-14_跑出追赶超越加速度.txt"


# --- helpers -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BuildSummary:
    """The counts of the one summary line `rag index build` prints on stdout."""

    documents: int
    chunks: int
    added: int
    changed: int
    removed: int
    unchanged: int
    embedded: int


def build_summary(result: CliResult) -> BuildSummary:
    match = SUMMARY_RE.search(result.stdout)
    assert match, f"no build summary line on stdout\n{result.describe()}"
    return BuildSummary(**{k: int(v) for k, v in match.groupdict().items()})


def doc_chunks(manifest: dict[str, Any], source: str) -> tuple[str, int]:
    """The document id of a one-document source and its chunk count, from a build manifest."""
    (doc_id,) = manifest["sources"][source]["documents"]
    return doc_id, int(manifest["documents"][doc_id]["chunks"])


def tmp_builds(work: Workdir) -> list[Path]:
    builds = work.index / "builds"
    return sorted(builds.glob(".tmp-*")) if builds.is_dir() else []


def comparable(hits: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(h["chunk_id"], h["doc_id"], h["source"], h["score"], h["text"]) for h in hits]


def wait_until(condition: Callable[[], bool], *, what: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll ``condition`` until it holds; fail early if ``proc`` exits first or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the build exited with {proc.returncode} before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def seed_search(seed_index: SeedIndex) -> Callable[[str], list[dict[str, Any]]]:
    """`rag search --json QUERY` on the (unchanging) seed index, run once per query."""
    cache: dict[str, list[dict[str, Any]]] = {}

    def search(query: str) -> list[dict[str, Any]]:
        if query not in cache:
            cache[query] = seed_index.workdir.search(query)
        return cache[query]

    return search


# --- 1. a full build ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_build_of_the_seed_corpus_is_complete_and_verifies(seed_index: SeedIndex) -> None:
    work, build = seed_index.workdir, seed_index.build
    summary = build_summary(build)
    assert (summary.documents, summary.added, summary.changed, summary.removed, summary.unchanged) == (5, 5, 0, 0, 0)
    assert summary.embedded == summary.chunks, f"a first build embeds every chunk: {summary}"
    assert 50 <= summary.chunks <= 300, f"~110 chunks expected for the seed corpus at 300 characters: {summary}"

    status = work.status()
    assert status["documents"] == 5
    assert status["chunks"] == summary.chunks
    assert status["embedder"]["model"] == "m3e-small"
    assert status["embedder"]["dim"] == 512
    assert status["stale"] == {"added": [], "changed": [], "removed": []}
    assert status["failed"] == []

    verify = work.rag("index", "verify", "--index", "index")
    assert verify.returncode == 0, verify.describe()
    assert "index OK" in verify.stdout


# --- 2. incremental builds ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_incremental_build_re_embeds_only_what_changed(seed_index: SeedIndex, tmp_path: Path) -> None:
    work = seed_index.workdir.copy_to(tmp_path / "work")
    seed_manifest = work.manifest()
    seed_vectors = np.load(work.current_build() / "vectors.npy")

    again = work.build()
    assert again.returncode == 0, again.describe()
    summary = build_summary(again)
    assert (summary.added, summary.changed, summary.removed, summary.unchanged) == (0, 0, 0, 5), again.stdout
    assert "0 chunks embedded" in again.stdout

    # One file gains a sentence: `status` names it, the next build re-embeds that document alone.
    with open(work.path / HENGSHUI, "a", encoding="utf-8") as fh:
        fh.write("\n衡水湖国家级自然保护区新建了一条十二公里长的环湖绿道。\n")
    assert work.status()["stale"] == {"added": [], "changed": [HENGSHUI], "removed": []}
    listing = work.rag("index", "status", "--index", "index")
    assert listing.returncode == 0, listing.describe()
    assert re.search(rf"changed\s+{re.escape(HENGSHUI)}", listing.stdout), listing.describe()

    changed = work.build()
    assert changed.returncode == 0, changed.describe()
    summary = build_summary(changed)
    assert (summary.added, summary.changed, summary.removed, summary.unchanged) == (0, 1, 0, 4), changed.stdout
    manifest = work.manifest()
    hengshui_id, hengshui_chunks = doc_chunks(manifest, HENGSHUI)
    assert summary.embedded == hengshui_chunks, f"only {HENGSHUI}'s {hengshui_chunks} chunks should be embedded"
    # The unchanged documents' vectors are carried over exactly, at their new rows.
    vectors = np.load(work.current_build() / "vectors.npy")
    for doc_id, meta in manifest["documents"].items():
        if doc_id == hengshui_id:
            continue
        old = seed_manifest["documents"][doc_id]
        new_rows = vectors[meta["first_row"] : meta["first_row"] + meta["chunks"]]
        old_rows = seed_vectors[old["first_row"] : old["first_row"] + old["chunks"]]
        assert np.array_equal(new_rows, old_rows), f"vectors of unchanged document {meta['source']} differ"

    # One file is deleted: `status` lists it, the build removes its document and all its chunks.
    reform_id, reform_chunks = doc_chunks(manifest, REFORM)
    (work.path / REFORM).unlink()
    assert work.status()["stale"] == {"added": [], "changed": [], "removed": [REFORM]}
    listing = work.rag("index", "status", "--index", "index")
    assert re.search(rf"removed\s+{re.escape(REFORM)}", listing.stdout), listing.describe()

    removed = work.build()
    assert removed.returncode == 0, removed.describe()
    summary = build_summary(removed)
    assert (summary.documents, summary.added, summary.changed, summary.removed, summary.unchanged) == (4, 0, 0, 1, 4)
    assert summary.embedded == 0, removed.stdout
    status = work.status()
    assert status["documents"] == 4
    assert status["chunks"] == int(manifest["counts"]["chunks"]) - reform_chunks
    assert status["stale"] == {"added": [], "changed": [], "removed": []}
    assert reform_id not in work.manifest()["documents"]
    hits = work.search("恒口示范区全面深化改革工作综述", top_k=20)
    assert hits, "the index should still answer"
    assert all(h["doc_id"] != reform_id for h in hits), f"a deleted document is still returned: {REFORM}"


# --- 3. a killed build leaves the live index untouched --------------------------------------------------------


@pytest.mark.slow
def test_a_killed_rebuild_leaves_the_live_index_intact(
    seed_index: SeedIndex, seed_search: Callable[[str], list[dict[str, Any]]], tmp_path: Path
) -> None:
    query = "衡水湖蓄水量"
    before = seed_search(query)  # the copy below is byte-identical to the seed index
    work = seed_index.workdir.copy_to(tmp_path / "work")
    live = (work.index / "CURRENT").read_bytes()
    finished = sorted(p.name for p in (work.index / "builds").iterdir())
    stderr_log = tmp_path / "build.stderr"

    with open(stderr_log, "wb") as log:
        proc = work.popen("index", "build", "--rebuild", "--corpus", "corpus", "--index", "index", stderr=log)
        try:
            wait_until(
                lambda: (
                    bool(tmp_builds(work)) and "embedding" in stderr_log.read_text(encoding="utf-8", errors="replace")
                ),
                what="the rebuild started embedding into builds/.tmp-*",
                proc=proc,
                timeout=180,
            )
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the rebuild finished before it could be killed"
    assert tmp_builds(work), "the killed build should have left its temporary folder behind"
    assert (work.index / "CURRENT").read_bytes() == live, "CURRENT changed although no build finished"
    assert sorted(p.name for p in (work.index / "builds").iterdir() if not p.name.startswith(".tmp-")) == finished

    with ThreadPoolExecutor(max_workers=2) as pool:  # two read-only commands: overlap their slow start-ups
        searching = pool.submit(work.search, query)
        verifying = pool.submit(work.rag, "index", "verify", "--index", "index")
        after, verify = searching.result(), verifying.result()
    assert comparable(after) == comparable(before), "search results changed after a killed rebuild"
    assert verify.returncode == 0, verify.describe()

    next_build = work.build()
    assert next_build.returncode == 0, next_build.describe()
    assert build_summary(next_build).embedded == 0, "the killed rebuild must not count as an index change"
    assert tmp_builds(work) == [], "the next build should remove the abandoned .tmp-* folder"


# --- 4 and 7. a mixed corpus: good, GBK and Big5 files, unreadable files, a JSON Lines file with a bad line ---
# One small build serves both tests (every CLI process pays several seconds of torch/transformers imports).

BAD_FILES = {
    "corpus/corrupt.pdf": "corrupt",
    "corpus/scanned.pdf": "no extractable text",
    "corpus/empty.txt": "empty",
    "corpus/binary_junk.txt": "binary",
}
GOOD_FILES = {"corpus/good.txt", "corpus/gbk.txt", "corpus/big5.txt", "corpus/report.pdf"}
JSONL_RECORDS = {
    "hs-2017": "2017年衡水湖蓄水量达到近20年最高水平,生态持续改善。",
    "tz-2021": "2021年海陵区完成一般公共预算收入33.84亿元。",
    "ak-2020": "恒口示范区2020年新建标准化厂房12万平方米,引进企业23家。",
}


@dataclass(frozen=True, slots=True)
class MixedBuild:
    build: CliResult
    status: dict[str, Any]
    hits: list[dict[str, Any]]  # every chunk of the (tiny) index, ranked for a query

    def skipped(self) -> dict[str, str]:
        """`skipped SOURCE: REASON` lines of the build's stderr."""
        return dict(re.findall(r"^skipped (\S+): (.+)$", self.build.stderr, flags=re.MULTILINE))


@pytest.fixture(scope="module")
def mixed_build(new_workdir: Callable[[str], Workdir]) -> MixedBuild:
    work = new_workdir("mixed")
    work.corpus.mkdir()
    (work.corpus / "good.txt").write_text(
        "恒口示范区工作报告\n\n2021年恒口示范区新建标准化厂房12万平方米,引进企业23家,完成固定资产投资45亿元。\n",
        encoding="utf-8",
    )
    for name in ("gbk.txt", "big5.txt", "report.pdf", "corrupt.pdf", "scanned.pdf", "empty.txt", "binary_junk.txt"):
        shutil.copy(FIXTURES / name, work.corpus / name)
    lines = [
        json.dumps({"id": doc_id, "title": doc_id, "text": text}, ensure_ascii=False)
        for doc_id, text in JSONL_RECORDS.items()
    ]
    lines.insert(1, '{"id": "broken", "text": "缺少右括号"')
    (work.corpus / "reports.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    build = work.build()
    return MixedBuild(build, work.status(), work.search("一般公共预算收入", top_k=20))


@pytest.mark.slow
def test_bad_files_are_named_and_skipped_while_good_ones_are_indexed(mixed_build: MixedBuild) -> None:
    build = mixed_build.build
    assert build.returncode == 2, f"a build with unreadable files exits with status 2\n{build.describe()}"
    summary = build_summary(build)
    assert summary.documents == len(GOOD_FILES) + len(JSONL_RECORDS), build.stdout
    skipped = mixed_build.skipped()
    assert set(skipped) - {"corpus/reports.jsonl"} == set(BAD_FILES), (
        f"stderr should name each bad file\n{build.stderr}"
    )
    for source, reason in BAD_FILES.items():
        assert reason in skipped[source], f"{source}: reason {skipped[source]!r} should say {reason!r}"
    assert "Traceback" not in build.stderr

    assert {f["source"] for f in mixed_build.status["failed"]} >= set(BAD_FILES)
    texts = {h["source"]: h["text"] for h in mixed_build.hits}
    assert set(texts) >= GOOD_FILES, f"the index should return every good file: {sorted(texts)}"
    assert not set(BAD_FILES) & set(texts)
    assert "完成一般公共预算收入33.84亿元" in texts["corpus/gbk.txt"], "GBK text decoded wrongly"
    assert "出口貿易額創下歷史新高" in texts["corpus/big5.txt"], "Big5 text decoded wrongly"
    assert "GDP grew 6.1 percent" in texts["corpus/report.pdf"]
    assert "一般公共预算收入" in mixed_build.hits[0]["text"], "a passage holding the query words should rank first"


# --- 5. search quality on the seed index ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "source"),
    [
        pytest.param("衡水湖蓄水量", HENGSHUI, id="hengshui-lake"),
        pytest.param("一般财政预算收入", ANKANG_2020, id="budget"),
    ],
)
def test_search_finds_the_passage_holding_the_exact_phrase(
    seed_search: Callable[[str], list[dict[str, Any]]], query: str, source: str
) -> None:
    hits = seed_search(query)
    assert len(hits) == 5, "the default top_k is 5"
    ranked = [(h["source"], query in h["text"]) for h in hits]
    assert (source, True) in ranked[:3], f"no passage of {source} containing {query!r} in the top 3: {ranked}"


# --- 6. errors a user meets -----------------------------------------------------------------------------------


def assert_one_line_error(result: CliResult, *, says: str) -> None:
    assert result.returncode == 1, result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line error\n{result.describe()}"
    assert lines[0].startswith("error:"), result.describe()
    assert says in lines[0], f"the error should name {says!r}\n{result.describe()}"


@pytest.mark.slow
def test_search_with_other_chunking_settings_refuses_the_index(seed_index: SeedIndex) -> None:
    result = seed_index.workdir.rag("search", "--index", "index", "衡水湖", env={"RAG_CHUNKING__SIZE": "500"})
    assert_one_line_error(result, says="rag index build --rebuild")
    assert "chunking" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("command", [("search", "衡水湖"), ("index", "status")], ids=["search", "status"])
def test_a_missing_index_is_a_one_line_error(workdir: Workdir, command: tuple[str, ...]) -> None:
    result = workdir.rag(*command, "--index", "nowhere")
    assert_one_line_error(result, says="rag index build")
    assert "nowhere" in result.stderr


# --- 7. a JSON Lines corpus (the mixed build above) -----------------------------------------------------------


@pytest.mark.slow
def test_jsonl_records_become_documents_and_a_bad_line_is_reported(mixed_build: MixedBuild) -> None:
    skipped = mixed_build.skipped()
    assert re.search(r"line 2: invalid JSON", skipped.get("corpus/reports.jsonl", "")), (
        f"the malformed line should be named on stderr\n{mixed_build.build.stderr}"
    )
    assert any(f["source"] == "corpus/reports.jsonl" for f in mixed_build.status["failed"])
    records = {h["doc_id"]: h for h in mixed_build.hits if h["source"].startswith("corpus/reports.jsonl")}
    assert set(records) == set(JSONL_RECORDS), f"record ids should be the document ids: {sorted(records)}"
    for doc_id, hit in records.items():
        assert hit["source"] == f"corpus/reports.jsonl#{doc_id}"
        assert hit["text"] == JSONL_RECORDS[doc_id]
