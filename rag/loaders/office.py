"""Legacy Office files (.doc, .wps, .xls): converted by LibreOffice headless, started only when such a file is met,
to .docx or .xlsx, then read by those readers (tables keep their headers the same way)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from rag.errors import IngestError
from rag.loaders.cleaning import RawText, ReadOptions

CONVERT_TIMEOUT_S = 180  # a long report converts in seconds; a hung conversion must not stall a build
INSTALL_HINT = (
    "install LibreOffice (Debian/Ubuntu: `apt-get install libreoffice-writer-nogui libreoffice-calc-nogui`) "
    "or set RAG_LOADERS__OFFICE to its `soffice` command"
)
# Each legacy format, what LibreOffice writes it as.
TARGETS = {".doc": "docx", ".wps": "docx", ".xls": "xlsx"}


def read_legacy_office(path: Path, *, options: ReadOptions | None = None) -> RawText:
    """Convert ``path`` with LibreOffice and read the result; a clear IngestError when LibreOffice is missing
    or cannot convert the file."""
    from rag.loaders.docx import read_docx
    from rag.loaders.tables import read_xlsx

    target = TARGETS[path.suffix.lower()]
    with tempfile.TemporaryDirectory(prefix="rag-office-") as tmp:
        converted = convert(path, target, Path(tmp), office=(options or ReadOptions()).office)
        try:
            return read_docx(converted) if target == "docx" else read_xlsx(converted)
        except IngestError as exc:
            raise IngestError(str(exc).replace(str(converted), f"{path} (converted to .{target})")) from exc


def convert(path: Path, target: str, out_dir: Path, *, office: str) -> Path:
    """``path`` converted to format ``target`` in ``out_dir`` by ``office`` (LibreOffice's soffice), with a
    profile of its own so that conversions never wait on another LibreOffice's lock."""
    command = shutil.which(office)
    if command is None:
        raise IngestError(
            f"{path}: {path.suffix} files are converted by LibreOffice, and `{office}` was not found; "
            f"{INSTALL_HINT}, or save the file as .{target}"
        )
    profile = (out_dir / "profile").as_uri()
    args = [command, f"-env:UserInstallation={profile}", "--headless", "--norestore"]
    args += ["--convert-to", target, "--outdir", str(out_dir), str(path)]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=CONVERT_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise IngestError(f"{path}: LibreOffice did not convert it within {CONVERT_TIMEOUT_S} s") from None
    converted = out_dir / f"{path.stem}.{target}"
    if done.returncode != 0 or not converted.is_file():
        why = (done.stderr or done.stdout).strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise IngestError(f"{path}: LibreOffice could not convert it to .{target} (corrupt?): {why[0]}")
    return converted
