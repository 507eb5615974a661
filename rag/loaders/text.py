"""Plain-text (.txt, .md) reading: byte decoding with UTF-8 first, then charset detection (GB18030, Big5, …)."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

from rag.errors import IngestError

# charset-normalizer names for the simplified-Chinese family; gb18030 is their superset, so decode with it.
_GB_FAMILY = {"gb2312", "gbk", "cp936", "ms936", "gb18030", "euc_cn", "hz"}
_ALLOWED_CONTROLS = {"\t", "\n", "\r", "\f", "\v"}
# Above this share of control/unassigned/replacement characters a "decoded" text is really binary junk.
_MAX_JUNK_RATIO = 0.02
_SNIFF_BYTES = 64 * 1024


def read_text_file(path: Path) -> str:
    """Read and decode a text file; raises IngestError naming the file when it is empty, binary or undecodable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    return decode_bytes(data, name=str(path))


def decode_bytes(data: bytes, *, name: str) -> str:
    """Decode text bytes: strict UTF-8 (BOM allowed) first, then charset-normalizer's best guess.

    ``name`` identifies the input in error messages.
    """
    if not data.strip():
        raise IngestError(f"{name}: file is empty")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _checked(_decode_strict(data, "utf-16", name=name), name=name)
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise IngestError(f"{name}: looks like binary data, not text (contains NUL bytes)")
    try:
        return _checked(data.decode("utf-8-sig"), name=name)
    except UnicodeDecodeError:
        pass
    encoding = detect_encoding(data)
    if encoding is None:
        raise IngestError(
            f"{name}: cannot decode: not UTF-8 and no known text encoding fits (binary file or unsupported encoding?)"
        )
    return _checked(_decode_strict(data, encoding, name=name), name=name)


def detect_encoding(data: bytes) -> str | None:
    """The Python codec charset-normalizer picks for ``data`` (GBK/GB2312 mapped to gb18030), or None."""
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return None
    encoding = codecs.lookup(best.encoding).name.replace("-", "_")
    return "gb18030" if encoding in _GB_FAMILY else encoding


def _decode_strict(data: bytes, encoding: str, *, name: str) -> str:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise IngestError(f"{name}: cannot decode as {encoding}: {exc}") from exc


def _checked(text: str, *, name: str) -> str:
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise IngestError(f"{name}: file is empty (only whitespace)")
    junk = sum(1 for ch in text if _is_junk(ch))
    if junk / len(text) > _MAX_JUNK_RATIO:
        raise IngestError(
            f"{name}: decoded text is mostly control or unassigned characters ({junk} of {len(text)}); "
            "looks like a binary file, not text"
        )
    return text


def _is_junk(ch: str) -> bool:
    if ch in _ALLOWED_CONTROLS:
        return False
    return ch == "\ufffd" or unicodedata.category(ch) in {"Cc", "Cs", "Co", "Cn"}
