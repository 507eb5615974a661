"""Scanned report pages through the real OCR engine (RapidOCR, models from its wheel): PNG and two-frame TIFF files
rendered here with a CJK font, read back with their sentences and exact figures; damaged and blank images refused;
a scanned page of a PDF and a PNG in a corpus answer a figure question with the page, marked OCR."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from rag.errors import IngestError
from rag.loaders.ocr import read_image

if TYPE_CHECKING:
    from PIL.Image import Image

    from rag.pipeline import Pipeline

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
# scripts/compare_ocr.py measured RapidOCR's character accuracy at 0.993-1.000 on rendered report pages (clean,
# 150/200 dpi, two columns, blurred and noisy). Losing one 40-character line of this ~500-character page costs
# about 8%, so 0.97 fails on any lost line yet leaves room for small differences between ONNX Runtime builds.
MIN_RATIO = 0.97

TITLE = "政府工作报告（摘要）"
PAGE_ONE = [
    "全年完成固定资产投资45.6亿元，同比增长11.2%。城镇新增就业3.8万人，城镇调查失业率控制在5.5%以内。"
    "累计为企业减税降费180多万元，惠及各类市场主体2356户。",
    "企业开办时间压缩至3个工作日以内，工程建设项目审批时限压缩到30个工作日以内。"
    "全年受理群众来信来访1275件，按期办结率达到98.6%。",
    "新建改建农村公路126公里，完成农村危房改造415户，建成乡镇综合文化站12个。",
]
PAGE_TWO = ["投入财政资金8600万元，实施民生实事项目15个，培训农村实用人才2400人，比上年多320人。"]
FIGURES = ["45.6亿元", "11.2%", "3.8万人", "5.5%", "180多万元", "2356户", "30个工作日以内", "98.6%", "126公里"]


def render_page(paragraphs: list[str]) -> Image:
    """A page at 150 dpi (A4 width) in 12-point type: a centred title, then paragraphs indented two characters."""
    from PIL import Image, ImageDraw, ImageFont

    assert FONT.exists(), f"the CJK font {FONT} is missing: apt-get install -y fonts-wqy-microhei (`.ci/run` does)"
    font, title_font = ImageFont.truetype(str(FONT), 25), ImageFont.truetype(str(FONT), 40)
    margin, width, pitch = 120, 1240 - 240, 38
    image = Image.new("RGB", (1240, 900), "white")
    draw = ImageDraw.Draw(image)
    draw.text(((1240 - title_font.getlength(TITLE)) / 2, 80), TITLE, font=title_font, fill="black")
    y = 180
    for paragraph in paragraphs:
        line, x = "", margin + 2 * font.size
        for ch in paragraph:
            if font.getlength(line + ch) > width - (x - margin) and ch not in "，。、；：%":
                draw.text((x, y), line, font=font, fill="black")
                line, x, y = "", margin, y + pitch
            line += ch
        draw.text((x, y), line, font=font, fill="black")
        y += pitch
    return image


def similarity(expected: str, text: str) -> float:
    squeeze = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    return difflib.SequenceMatcher(None, squeeze(expected), squeeze(text), autojunk=False).ratio()


def test_a_png_page_reads_back_with_its_sentences_and_exact_figures(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    render_page(PAGE_ONE).save(path)
    raw = read_image(path)
    assert [page.number for page in raw.pages] == [1]
    assert raw.pages[0].ocr
    assert similarity("\n".join([TITLE, *PAGE_ONE]), raw.text) >= MIN_RATIO
    for figure in FIGURES:
        assert figure in raw.text
    # The layout step rejoins each paragraph's lines: the title, then one line per paragraph.
    assert len(raw.text.split("\n")) == 1 + len(PAGE_ONE)
    for paragraph, line in zip(PAGE_ONE, raw.text.split("\n")[1:], strict=True):
        assert similarity(paragraph, line) >= MIN_RATIO


def test_every_frame_of_a_tiff_is_a_page(tmp_path: Path) -> None:
    path = tmp_path / "scan.tif"
    first, second = render_page(PAGE_ONE), render_page(PAGE_TWO)
    first.save(path, save_all=True, append_images=[second], compression="tiff_deflate")
    raw = read_image(path)
    assert [(page.number, page.ocr) for page in raw.pages] == [(1, True), (2, True)]
    assert similarity("\n".join(PAGE_TWO), raw.pages[1].text.removeprefix(TITLE)) >= MIN_RATIO
    assert "8600万元" in raw.pages[1].text and "45.6亿元" in raw.pages[0].text
    assert raw.text == raw.pages[0].text + "\n\n" + raw.pages[1].text


def test_a_corrupt_png_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    good = tmp_path / "good.png"
    render_page(PAGE_TWO).save(good)
    path.write_bytes(good.read_bytes()[:200])  # the header and the start of the data: truncated
    with pytest.raises(IngestError, match=r"broken\.png: corrupt or unreadable image"):
        read_image(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\nnot an image at all")
    with pytest.raises(IngestError, match="corrupt or unreadable image"):
        read_image(path)


def test_a_blank_scan_has_no_text(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "blank.png"
    Image.new("L", (800, 600), 255).save(path)
    with pytest.raises(IngestError, match="OCR found no text in the image"):
        read_image(path)


def _scanned_pdf(path: Path) -> Path:
    """A two-page PDF: page 1 with a text layer, page 2 the image of a scanned page (and a scanner app's stamp,
    its only text)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen.canvas import Canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    canvas = Canvas(str(path), pagesize=A4)
    canvas.setFont("STSong-Light", 12)
    canvas.drawString(72, 760, "一、经济发展情况：全年地区生产总值增长7.3%，规模以上工业增加值增长9.1%，")
    canvas.drawString(72, 740, "社会消费品零售总额增长6.8%，居民人均可支配收入增长7.5%。")
    canvas.showPage()
    scan = render_page(PAGE_ONE)
    canvas.drawImage(
        ImageReader(scan), 0, A4[1] - A4[0] * scan.height / scan.width, A4[0], A4[0] * scan.height / scan.width
    )
    canvas.drawString(480, 20, "扫描全能王")  # a scanner app's stamp: a text layer of a few characters
    canvas.showPage()
    canvas.save()
    return path


def test_a_scanned_pdf_page_answers_with_its_figure_and_page(
    tmp_path: Path, quick_pipeline: Callable[..., Pipeline]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _scanned_pdf(corpus / "报告.pdf")
    pipeline = quick_pipeline(corpus)
    answer = pipeline.ask("工程建设项目审批时限压缩到多少个工作日？")
    assert answer.grounded and answer.short_answer == "30个工作日以内", answer
    cited = answer.citations[0]
    assert cited.pages == (2,) and cited.ocr and answer.to_dict()["citations"][0]["ocr"] is True
    doc = pipeline.index.chunks.document(cited.doc_id)
    assert doc is not None and [(p.number, p.ocr) for p in doc.pages] == [(1, False), (2, True)]


def test_a_png_in_the_corpus_is_answered_and_ocr_can_be_turned_off(
    tmp_path: Path, quick_pipeline: Callable[..., Pipeline]
) -> None:
    from rag.loaders import ReadOptions, SourceFile, load_source

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    render_page(PAGE_ONE).save(corpus / "扫描件.png")
    answer = quick_pipeline(corpus).ask("累计为企业减税降费多少？")
    assert answer.grounded and answer.short_answer == "180多万元", answer
    assert answer.citations[0].pages == (1,) and answer.citations[0].ocr
    off = ReadOptions(ocr=False)
    with pytest.raises(IngestError, match=r"扫描件\.png: an image is read by OCR, which is off"):
        list(load_source(SourceFile(corpus / "扫描件.png", corpus, "corpus/扫描件.png"), options=off))
    scanned = _scanned_pdf(tmp_path / "scan.pdf")
    (doc,) = load_source(SourceFile(scanned, tmp_path, "scan.pdf"), options=off)
    assert [p.number for p in doc.pages] == [1] and "30个工作日" not in doc.text  # the scanned page is skipped


def test_a_page_is_ocrd_once_with_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rag.loaders import ReadOptions, ocr

    path = tmp_path / "scan.png"
    render_page(PAGE_TWO).save(path)
    options = ReadOptions(ocr_cache_dir=tmp_path / "cache")
    first = read_image(path, options=options)
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1

    def no_engine() -> None:
        raise AssertionError("the engine ran again")

    monkeypatch.setattr(ocr, "_engine", no_engine)
    assert read_image(path, options=options).text == first.text  # from the cache
    with pytest.raises(AssertionError, match="the engine ran again"):
        read_image(path)  # no cache: OCR'd
