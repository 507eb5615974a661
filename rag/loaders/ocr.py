"""Optical character recognition of scanned pages (RapidOCR: PP-OCRv4 ONNX models shipped in its wheel); its text
boxes go through the layout step of ``rag.loaders.layout``."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import IngestError
from rag.loaders.cleaning import RawPage, RawText, ReadOptions
from rag.loaders.layout import TextBox, layout_text

if TYPE_CHECKING:
    from PIL.Image import Image

INSTALL_HINT = "pip install 'rapidocr-onnxruntime==1.4.4'"


@functools.cache
def _engine() -> Any:
    """The process's one RapidOCR engine (loading its three models takes a moment; the models are in its wheel)."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError as exc:
        raise IngestError(f"OCR needs RapidOCR, which is not installed ({exc}); run `{INSTALL_HINT}`") from exc
    return RapidOCR()


def ocr_image(image: Image, *, cache: Path | None = None) -> str:
    """Recognise the text of one page image and return it in reading order (see ``layout_text``)."""
    return layout_text(recognise(image.convert("RGB"), cache=cache))


def recognise(image: Image, *, cache: Path | None = None) -> list[TextBox]:
    """The engine's text boxes of an RGB page image. With ``cache`` (a folder) they are kept there under the
    digest of the pixels and the engine's version, so a page OCR'd once (an upload checked, then indexed; a
    rebuild) is not OCR'd again; the layout step always runs anew."""
    path = None
    if cache is not None:
        digest = hashlib.sha256(image.tobytes())
        digest.update(f"{image.size} {_engine_version()}".encode())
        key = digest.hexdigest()
        path = cache / key[:2] / f"{key}.json"
        try:
            return [TextBox(*box) for box in json.loads(path.read_text(encoding="utf-8"))]
        except (OSError, ValueError, TypeError):
            pass  # not cached yet (or a damaged entry): recognise it
    result, _elapsed = _engine()(image)
    boxes = []
    for points, text, score in result or ():
        xs, ys = [float(p[0]) for p in points], [float(p[1]) for p in points]
        boxes.append(TextBox(min(xs), min(ys), max(xs), max(ys), str(text), float(score)))
    if path is not None:
        with contextlib.suppress(OSError):  # the cache only saves time: a read-only or full disk is no error
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps([dataclasses.astuple(b) for b in boxes], ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
    return boxes


@functools.cache
def _engine_version() -> str:
    return f"rapidocr-onnxruntime {importlib.metadata.version('rapidocr-onnxruntime')}"


def ocr_pages(
    images: Iterable[Image], *, total: int | None = None, desc: str = "OCR", cache: Path | None = None
) -> list[str]:
    """OCR each page image in turn, with a progress bar on stderr (hidden when stderr is not a terminal)."""
    from tqdm import tqdm

    bar = tqdm(images, total=total, desc=desc, unit="page", file=sys.stderr, disable=None)
    return [ocr_image(image, cache=cache) for image in bar]


def read_image(path: Path, *, options: ReadOptions | None = None) -> RawText:
    """OCR a scanned image file (PNG, JPEG, TIFF; every frame of a multi-page TIFF is a page), unless OCR is
    off (``options.ocr``)."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    if options is not None and not options.ocr:
        raise IngestError(f"{path}: an image is read by OCR, which is off (RAG_LOADERS__OCR=false)")

    try:
        with Image.open(path) as image:
            # Frames are decoded one at a time, so a long TIFF never sits in memory whole.
            frames = (frame.convert("RGB") for frame in ImageSequence.Iterator(image))
            total = getattr(image, "n_frames", 1)
            texts = ocr_pages(
                frames, total=total, desc=f"OCR {path.name}", cache=options.ocr_cache_dir if options else None
            )
    except IngestError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        # PIL raises all of these on a damaged file, some only once the pixels are decoded.
        raise IngestError(f"{path}: corrupt or unreadable image ({type(exc).__name__}: {exc})") from exc
    if not any(text.strip() for text in texts):
        raise IngestError(f"{path}: OCR found no text in the image")
    return RawText.from_pages(tuple(RawPage(number=i + 1, text=text, ocr=True) for i, text in enumerate(texts)))
