"""The soak command runs end to end on a short run: clients ask while documents are uploaded and deleted and a
CLI build runs beside the server; it reports its figures and no failed request (its 10-minute figures are in
the README, Security)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # the fixtures' types, from tests/integration/conftest.py
    from conftest import SeedIndex

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).parents[2] / "scripts" / "soak.py"
MODEL_CACHE = Path(__file__).resolve().parents[2] / "index" / "models"


def test_a_short_soak_has_no_failed_request(seed_index: SeedIndex) -> None:
    work = seed_index.workdir.path
    command = [sys.executable, str(SCRIPT), "--minutes", "0.5", "--clients", "3", "--write-every", "4"]
    command += ["--build-every", "10", "--sample-every", "10", "--corpus", "corpus", "--index", "index"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env |= {"HF_HUB_OFFLINE": "1", "RAG_EMBEDDER__CACHE_DIR": str(MODEL_CACHE)}  # the exported question encoder
    result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300, check=False)
    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-2000:]
    assert "failed requests: 0" in out, out[-4000:]
    assert re.search(r"/ask: [1-9]\d* answered", out) and re.search(r"upload: [1-9]", out), out[-4000:]
    assert re.search(r"cli build: [1-9]", out), out[-4000:]
