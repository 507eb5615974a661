"""Integration fixtures: the `rag` CLI run as a subprocess, one seed-corpus index built once per session, and
real `rag serve` processes on loopback ports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx
import pytest

from rag.tools.server import running_server

if TYPE_CHECKING:
    from rag.pipeline import Pipeline
    from rag.settings import Settings

# The console script installed next to the interpreter running pytest (the project's venv).
RAG_SCRIPT = Path(sys.executable).with_name("rag")
CLI_TIMEOUT_S = 300.0
# The int8 ONNX question encoder (the default query backend) is exported once per machine into this folder
# (gitignored, like the rest of index/) and shared by every test, in process or not, whatever its cwd.
MODEL_CACHE = Path(__file__).resolve().parents[2] / "index" / "models"


@dataclass(frozen=True, slots=True)
class CliResult:
    """One finished `rag` run."""

    args: tuple[str, ...]
    cwd: Path
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        """The command, its status and (the end of) its output, for assertion messages."""
        return (
            f"`rag {' '.join(self.args)}` in {self.cwd} exited {self.returncode}\n"
            f"--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}"
        )

    def json(self) -> Any:
        assert self.returncode == 0, self.describe()
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"stdout is not JSON ({exc})\n{self.describe()}") from None


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test process's environment without any RAG_* setting, offline and colourless, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", NO_COLOR="1")
    env["RAG_EMBEDDER__CACHE_DIR"] = str(MODEL_CACHE)
    env.update(extra or {})
    return env


def rag_command(*args: str) -> list[str]:
    assert RAG_SCRIPT.is_file(), f"no `rag` console script at {RAG_SCRIPT}; install the package (`make install`)"
    return [str(RAG_SCRIPT), *args]


def run_rag(*args: str, cwd: Path, env: Mapping[str, str] | None = None, timeout: float = CLI_TIMEOUT_S) -> CliResult:
    """Run `rag ARGS...` in ``cwd`` and capture its output (never raises on a non-zero status)."""
    proc = subprocess.run(
        rag_command(*args), cwd=cwd, env=cli_env(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    return CliResult(tuple(args), cwd, proc.returncode, proc.stdout, proc.stderr)


@dataclass(frozen=True, slots=True)
class Workdir:
    """A folder holding `corpus/` and `index/`. The CLI runs inside it with relative paths, so the index
    manifest records `corpus` relatively and a copy of the whole folder is a self-contained index + corpus."""

    path: Path

    @property
    def corpus(self) -> Path:
        return self.path / "corpus"

    @property
    def index(self) -> Path:
        return self.path / "index"

    def rag(self, *args: str, env: Mapping[str, str] | None = None) -> CliResult:
        return run_rag(*args, cwd=self.path, env=env)

    def popen(self, *args: str, stderr: IO[bytes]) -> subprocess.Popen[bytes]:
        """Start `rag ARGS...` in the background (stdout discarded, stderr to ``stderr``)."""
        return subprocess.Popen(
            rag_command(*args), cwd=self.path, env=cli_env(), stdout=subprocess.DEVNULL, stderr=stderr
        )

    def build(self, *extra: str, env: Mapping[str, str] | None = None) -> CliResult:
        return self.rag("index", "build", "--corpus", "corpus", "--index", "index", *extra, env=env)

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = self.rag("index", "status", "--json", "--index", "index").json()
        return status

    def search(self, query: str, *, top_k: int | None = None) -> list[dict[str, Any]]:
        """The hits of `rag search --json` (each with doc_id, source, text, …)."""
        extra = ["--top-k", str(top_k)] if top_k else []
        hits: list[dict[str, Any]] = self.rag("search", "--json", "--index", "index", *extra, query).json()["hits"]
        return hits

    def current_build(self) -> Path:
        return self.index / "builds" / (self.index / "CURRENT").read_text(encoding="utf-8").strip()

    def manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.current_build() / "manifest.json").read_text(encoding="utf-8"))
        return manifest

    def copy_to(self, dest: Path) -> Workdir:
        shutil.copytree(self.path, dest)
        return Workdir(dest)


@dataclass(frozen=True, slots=True)
class SeedIndex:
    """The seed corpus built once; tests must not change it: copy it with ``workdir.copy_to`` to mutate."""

    workdir: Workdir
    build: CliResult


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> SeedIndex:
    """A copy of `corpus/` indexed with the real default embedder (the only full embedding of the session)."""
    work = Workdir(tmp_path_factory.mktemp("seed"))
    shutil.copytree(repo_root / "corpus", work.corpus)
    result = work.build()
    assert result.returncode == 0, result.describe()
    return SeedIndex(work, result)


def default_settings() -> Settings:
    """``Settings()`` as a fresh shell would give them: no RAG_* variable of the test process leaks in (only
    the shared ONNX model cache is set)."""
    from rag.settings import Settings

    with pytest.MonkeyPatch.context() as mp:
        for name in [k for k in os.environ if k.startswith("RAG_")]:
            mp.delenv(name)
        mp.setenv("RAG_EMBEDDER__CACHE_DIR", str(MODEL_CACHE))
        return Settings()


@pytest.fixture(scope="session")
def seed_settings() -> Settings:
    """The settings of ``seed_pipeline`` (``default_settings()``), to make other pipelines on its index."""
    return default_settings()


@pytest.fixture(scope="session")
def seed_pipeline(seed_index: SeedIndex) -> Iterator[Pipeline]:
    """An in-process pipeline (default settings, real embedder) on the session's seed index; read-only."""
    from rag.pipeline import build_pipeline

    pipeline = build_pipeline(default_settings(), index_dir=seed_index.workdir.index)
    yield pipeline
    pipeline.close()


@pytest.fixture
def workdir(tmp_path: Path) -> Workdir:
    """An empty folder to lay out a corpus (``workdir.corpus``) and build an index in."""
    path = tmp_path / "work"
    path.mkdir()
    return Workdir(path)


@pytest.fixture(scope="session")
def new_workdir(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Workdir]:
    """Make an empty workdir named after ``basename`` (for module- or session-scoped fixtures)."""
    return lambda basename: Workdir(tmp_path_factory.mktemp(basename))


@dataclass(frozen=True, slots=True)
class Server:
    """A running `rag serve` over ``work`` (a folder holding `corpus/` and `index/`)."""

    work: Path
    url: str
    log: Path
    proc: subprocess.Popen[bytes]

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60.0, **kwargs)

    def describe(self) -> str:
        return f"server log ({self.log}):\n{self.log.read_text(errors='replace')[-4000:]}"


@contextmanager
def serve(
    work: Path, env: Mapping[str, str] | None = None, *, timeout_s: float = 180.0, index: Path = Path("index")
) -> Iterator[Server]:
    """`rag serve --index INDEX` in ``work`` on a free loopback port, ready (``/ready`` is 200) until the block
    ends; then stopped. The benchmark's server runner, with the tests' environment."""
    with running_server(index, log_dir=work.parent, timeout=timeout_s, cwd=work, env=cli_env(env)) as srv:
        yield Server(work, srv.url, srv.log, srv.proc)


@pytest.fixture(scope="session")
def rag_cli() -> Callable[..., CliResult]:
    """Runs the CLI: ``rag_cli("index", "build", cwd=work)``."""
    return run_rag


@pytest.fixture(scope="session")
def rag_server() -> Callable[..., AbstractContextManager[Server]]:
    """Starts real servers: ``with rag_server(work, {"RAG_API__KEY": "k"}) as server: ...``."""
    return serve


@pytest.fixture(scope="session")
def seed_server(
    seed_index: SeedIndex, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., AbstractContextManager[Server]]:
    """Starts a real server over a fresh copy of the seed workdir (it may upload and delete):
    ``with seed_server("api", {"RAG_API__KEY": "k"}) as server: ...``; ``{work}`` in an env value is the copy;
    ``absolute=True`` serves it as `--index /abs/path/index`."""

    @contextmanager
    def start(name: str, env: Mapping[str, str] | None = None, *, absolute: bool = False) -> Iterator[Server]:
        work = seed_index.workdir.copy_to(tmp_path_factory.mktemp(name) / "work").path
        values = {k: v.replace("{work}", str(work)) for k, v in (env or {}).items()}
        with serve(work, values, index=work / "index" if absolute else Path("index")) as srv:
            yield srv

    return start


def _postgres_bindir() -> Path | None:
    """The newest PostgreSQL server's programs (Debian keeps them in /usr/lib/postgresql/<major>/bin)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server on a loopback port, started for the session in a throw-away folder (as the
    `postgres` user when the tests run as root: the server refuses root) and stopped after; its URL."""
    import tempfile

    from rag.tools.server import free_port

    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server installed: `apt-get install postgresql` (.ci/run installs it as root)")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="rag-pg-"))  # not under pytest's 0700 folder: the server user reads it
    if os.geteuid() == 0:
        try:
            shutil.chown(root, "postgres", "postgres")
        except LookupError:
            pytest.skip("running as root and there is no `postgres` user to run the PostgreSQL server as")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()

    def run(*cmd: str) -> None:
        proc = subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"

    run(str(bindir / "initdb"), "-D", str(data), "-U", "rag", "--auth=trust", "-E", "UTF8", "--no-locale")
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start")
    try:
        yield f"postgresql://rag@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
