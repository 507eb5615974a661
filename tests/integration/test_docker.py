"""The Dockerfile built and served for real: `scripts/check_docker.sh` (podman, a local Debian base, the image's
command run with chroot on loopback, a seed question through `POST /ask`). It runs where podman is installed
and the tests run as root (minutes: the first build downloads the dependencies); ``RAG_TEST_DOCKER=0`` leaves
it out, ``RAG_TEST_DOCKER=1`` insists on it (a missing podman then fails)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BUILD_TIMEOUT_S = 3600


def test_the_image_builds_and_answers_a_seed_question(repo_root: Path) -> None:
    wanted = os.environ.get("RAG_TEST_DOCKER", "")
    if wanted == "0":
        pytest.skip("RAG_TEST_DOCKER=0: the image check is left out")
    if shutil.which("podman") is None or os.geteuid() != 0:
        message = "the image check needs podman and root: `apt-get install -y podman debootstrap` and run as root"
        if wanted == "1":
            pytest.fail(f"RAG_TEST_DOCKER=1 but {message}", pytrace=False)
        pytest.skip(message)
    proc = subprocess.run(
        ["bash", str(repo_root / "scripts" / "check_docker.sh")],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    output = f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}"
    assert proc.returncode == 0, output
    assert "check_docker: OK" in proc.stdout, output
    assert "/ask: '3.1万平方米' grounded" in proc.stdout, output
