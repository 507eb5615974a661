"""A `rag serve` subprocess on loopback, started and always stopped: for `rag bench`, the scripts and the tests."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.errors import RAGError

HOST = "127.0.0.1"  # the tools only ever talk to a server they started, on loopback
SERVER_START_TIMEOUT_S = 300.0


def free_port() -> int:
    """A free TCP port on loopback (free now; the server binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class RunningServer:
    """A `rag serve` subprocess on loopback."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    ready_seconds: float  # until `/ready` said 200: the API answers
    ui_seconds: float | None = None  # until `/ui/` said 200 (None: no web UI in this server)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the server's processes have used so far."""
        import psutil

        root = psutil.Process(self.proc.pid)
        total = 0.0
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.Error:  # a process that ended meanwhile
                continue
            total += times.user + times.system
        return total

    def memory(self) -> dict[str, Any]:
        """The server's resident memory now (its worker processes included) and whether any of its processes
        has torch's library mapped: what `rag bench` reports at ready."""
        import psutil

        root = psutil.Process(self.proc.pid)
        rss, torch = 0, False
        for process in [root, *root.children(recursive=True)]:
            try:
                rss += process.memory_info().rss
                torch = torch or any("libtorch" in m.path for m in process.memory_maps(grouped=True))
            except psutil.Error:  # a process that ended meanwhile
                continue
        return {"rss_mb": round(rss / 2**20, 1), "torch_loaded": torch}


@contextmanager
def running_server(
    index_dir: Path,
    *,
    log_dir: Path,
    timeout: float = SERVER_START_TIMEOUT_S,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    workers: int = 1,
) -> Iterator[RunningServer]:
    """Start `rag serve --index INDEX_DIR [--workers N]` on a free loopback port (in ``cwd``, with ``env`` when
    given), wait for `/ready` and then for the web UI (mounted after the pipeline loads), always stop it
    afterwards."""
    import httpx

    port = free_port()
    log = log_dir / "server.log"
    command = [sys.executable, "-m", "rag", "serve", "--index", str(index_dir), "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers)] if workers > 1 else []
    # A SIGTERM to the benchmark would otherwise end it without running `finally`, leaving the server behind.
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if in_main else None
    t0 = time.perf_counter()
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise RAGError(f"`rag serve` exited with status {proc.returncode} before it was ready:\n{tail}")
            if time.monotonic() > deadline:
                tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
                raise RAGError(f"`rag serve` was not ready after {timeout:.0f} s:\n{tail}")
            try:
                if httpx.get(url + "/ready", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        ready = time.perf_counter() - t0
        yield RunningServer(url, proc, log, ready, _wait_for_ui(url, proc, deadline, t0))
    finally:
        stop_process(proc, timeout=20)
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _wait_for_ui(url: str, proc: subprocess.Popen[Any], deadline: float, t0: float) -> float | None:
    """Seconds from the start until `/ui/` answers 200; None when the server has no UI (404)."""
    import httpx

    while time.monotonic() < deadline and proc.poll() is None:
        try:
            status = httpx.get(url + "/ui/", timeout=5).status_code
        except httpx.TransportError:
            status = 0
        if status == 200:
            return time.perf_counter() - t0
        if status == 404:
            return None
        time.sleep(0.1)
    raise RAGError(f"the web UI of `rag serve` at {url} did not load (see the server log)")


def stop_process(proc: subprocess.Popen[Any], *, timeout: float) -> None:
    """Ask ``proc`` to stop (SIGTERM), then kill it if it is still running after ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
