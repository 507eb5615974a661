"""Chinese OCR engines side by side on report pages this script renders itself (seeded): RapidOCR (PP-OCRv4 ONNX,
through ``rag.loaders.ocr``, whose layout step orders its boxes) against Tesseract 5 ``chi_sim`` (its own page
layout analysis, ``--psm 3``). Each engine runs only if it is installed.

    python3 -m venv /tmp/ocrvenv && /tmp/ocrvenv/bin/pip install pillow rapidfuzz rapidocr-onnxruntime==1.4.4 \\
        pytesseract pypdfium2 tqdm        # and: apt-get install tesseract-ocr tesseract-ocr-chi-sim fonts-wqy-microhei
    PYTHONPATH=. /tmp/ocrvenv/bin/python scripts/compare_ocr.py [--repeats 3] [--dump /tmp/ocr-pages]

Per page and engine: character accuracy (1 - normalised Levenshtein distance, whitespace removed), the share of
figures (number + unit) found exactly, reading order (the share of consecutive 30-character pieces of the truth
found in order), line breaks inside sentences, and the median seconds over ``--repeats`` interleaved runs.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import importlib.util
import os
import random
import re
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
FIGURE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?:多)?(?:万|亿)?(?:元|%|人|公里|个|户|件)")
SENTENCE_ENDS = "。！？；：”…"
NO_LINE_START = "，。、；：？！）”%"  # kinsoku: these hang on the previous line instead

AREAS = ["城关区", "高新区", "经开区", "东城区", "南湖新区", "临港片区", "北部山区", "滨江县"]
INDICATORS = ["地区生产总值", "一般公共预算收入", "社会消费品零售总额", "规模以上工业增加值", "进出口总额"]
TEMPLATES = [
    "全年完成固定资产投资{f}亿元，同比增长{p}%。",
    "{a}实现{i}{f}亿元，增长{p}%，高于全市平均水平{q}个百分点。",
    "城镇新增就业{n}万人，城镇调查失业率控制在{p}%以内。",
    "新建改建农村公路{n}公里，完成农村危房改造{m}户。",
    "累计为企业减税降费{n}多万元，惠及各类市场主体{m}户。",
    "企业开办时间压缩至{d}个工作日以内，审批事项办理时限平均缩短{p}%。",
    "全年受理群众来信来访{m}件，按期办结率达到{p}%。",
    "投入财政资金{n}万元，实施民生实事项目{d}个。",
    "建成乡镇综合文化站{d}个，培训农村实用人才{m}人。",
    "{a}共争取上级补助资金{f}亿元，比上年多{n}万元。",
    "我们坚持以人民为中心的发展思想，统筹推进稳增长、促改革、调结构、惠民生、防风险各项工作。",
    "面对复杂严峻的外部环境，全市上下迎难而上，经济运行总体平稳、稳中有进。",
    "深入实施创新驱动发展战略，新认定高新技术企业{d}家，研发投入强度提高到{q}%。",
    "持续改善生态环境质量，空气质量优良天数比例达到{p}%，治理水土流失面积{n}公里。",
]
HEADINGS = ["一、过去一年工作回顾", "二、主要经济指标完成情况", "三、今年工作总体要求", "四、重点任务"]


def sentence(rng: random.Random) -> str:
    return rng.choice(TEMPLATES).format(
        a=rng.choice(AREAS),
        i=rng.choice(INDICATORS),
        f=f"{rng.uniform(1, 500):.1f}",
        p=f"{rng.uniform(0.5, 30):.1f}",
        q=f"{rng.uniform(0.1, 3):.1f}",
        n=rng.randint(12, 980),
        m=rng.randint(100, 9000),
        d=rng.randint(3, 60),
    )


def paragraphs(rng: random.Random) -> list[str]:
    """An endless-enough report: headings, each followed by paragraphs of 2–5 sentences."""
    out = []
    for heading in HEADINGS:
        out.append(heading)
        out.extend("".join(sentence(rng) for _ in range(rng.randint(2, 5))) for _ in range(rng.randint(3, 5)))
    return out


def wrap(text: str, font: ImageFont.FreeTypeFont, width: float, indent: float) -> list[str]:
    lines, line, limit = [], "", width - indent
    for ch in text:
        if line and font.getlength(line + ch) > limit and ch not in NO_LINE_START:
            lines.append(line)
            line, limit = "", width
        line += ch
    return [*lines, line] if line else lines


@dataclass
class Page:
    name: str
    image: Image.Image
    truth: str  # reading order, paragraphs separated by "\n"


def render(name: str, *, dpi: int, columns: int = 1, pt: float = 12, seed: int = 0, noisy: bool = False) -> Page:
    """An A4 page at ``dpi``: a centred title over ``columns`` columns of indented paragraphs, filled to the bottom."""
    rng = random.Random(seed)
    size, margin = (round(8.27 * dpi), round(11.69 * dpi)), round(0.8 * dpi)
    font = ImageFont.truetype(str(FONT), round(pt / 72 * dpi))
    title_font = ImageFont.truetype(str(FONT), round(pt * 1.6 / 72 * dpi))
    char, pitch = font.size, round(font.size * 1.5)
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    title = "政府工作报告（摘要）"
    draw.text(((size[0] - title_font.getlength(title)) / 2, margin), title, font=title_font, fill=0)
    gutter = 2 * char
    col_width = (size[0] - 2 * margin - (columns - 1) * gutter) / columns
    top, bottom = margin + round(title_font.size * 2.2), size[1] - margin - pitch
    column, y, truth = 0, top, [title]
    for para in paragraphs(rng):
        done = []
        for i, line in enumerate(wrap(para, font, col_width, 2 * char)):
            if y > bottom:
                column, y = column + 1, top
            if column == columns:
                break
            x = margin + column * (col_width + gutter) + (2 * char if i == 0 else 0)
            draw.text((x, y), line, font=font, fill=0)
            done.append(line)
            y += pitch
        if done:
            truth.append("".join(done))
        if column == columns:
            break
    if noisy:
        image = degrade(image, seed)
    return Page(name, image.convert("RGB"), "\n".join(truth))


def degrade(image: Image.Image, seed: int) -> Image.Image:
    """A poor scan: 0.3° skew, blur, and Gaussian noise (σ = 24 grey levels, seeded)."""
    import numpy as np

    image = image.rotate(0.3, resample=Image.Resampling.BICUBIC, fillcolor=255).filter(ImageFilter.GaussianBlur(1.0))
    noise = np.random.default_rng(seed).normal(0, 24, (image.height, image.width))
    return Image.fromarray(np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8))


def render_table(name: str, *, dpi: int, seed: int = 0) -> Page:
    """A heading, a sentence, a ruled table of indicators (figures with units in the cells), a closing sentence."""
    rng = random.Random(seed)
    size, margin = (round(8.27 * dpi), round(11.69 * dpi)), round(0.8 * dpi)
    font = ImageFont.truetype(str(FONT), round(12 / 72 * dpi))
    char, pitch = font.size, round(font.size * 1.5)
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    intro = "表1列出了" + "、".join(INDICATORS[:3]) + "等主要经济指标的完成情况。"
    rows = [["指标", "2023年", "2024年", "增速"]]
    for indicator in INDICATORS:
        before = rng.uniform(100, 3000)
        after, growth = before * rng.uniform(1.01, 1.12), rng.uniform(1, 12)
        rows.append([indicator, f"{before:.1f}亿元", f"{after:.1f}亿元", f"{growth:.1f}%"])
    y = margin
    draw.text((margin, y), HEADINGS[1], font=font, fill=0)
    y += pitch
    draw.text((margin + 2 * char, y), intro, font=font, fill=0)
    y += 2 * pitch
    widths = [9 * char, 6 * char, 6 * char, 4 * char]
    for row in rows:
        x = margin
        for cell, width in zip(row, widths, strict=True):
            draw.rectangle((x, y, x + width, y + pitch + char // 2), outline=0, width=2)
            draw.text((x + char // 2, y + char // 3), cell, font=font, fill=0)
            x += width
        y += pitch + char // 2
    outro = f"其中，{INDICATORS[0]}增速比上年提高{rng.uniform(0.1, 2):.1f}个百分点。"
    draw.text((margin + 2 * char, y + pitch), outro, font=font, fill=0)
    truth = [HEADINGS[1], intro, *(" ".join(row) for row in rows), outro]
    return Page(name, image.convert("RGB"), "\n".join(truth))


def pages() -> list[Page]:
    return [
        render("single column 150dpi", dpi=150, seed=1),
        render("single column 200dpi", dpi=200, seed=2),
        render("two columns 150dpi", dpi=150, columns=2, pt=10.5, seed=3),
        render("two columns 200dpi", dpi=200, columns=2, pt=10.5, seed=4),
        render("noisy+blur+skew 150dpi", dpi=150, seed=5, noisy=True),
        render_table("ruled table 150dpi", dpi=150, seed=6),
    ]


def engines() -> dict[str, Callable[[Image.Image], dict[str, str]]]:
    """What is installed, each engine giving one text per layout variant."""
    found: dict[str, Callable[[Image.Image], dict[str, str]]] = {}
    if importlib.util.find_spec("rapidocr_onnxruntime"):
        from rag.loaders.ocr import ocr_image

        found["rapidocr"] = lambda image: {"rapidocr": ocr_image(image)}
    if importlib.util.find_spec("pytesseract") and shutil.which("tesseract"):
        import pytesseract

        if "chi_sim" in pytesseract.get_languages():
            found["tesseract"] = lambda image: tesseract(pytesseract, image)
    return found


def tesseract(pytesseract: Any, image: Image.Image) -> dict[str, str]:
    """Tesseract's own reading order (its lines as it orders them), and its lines through our layout step."""
    from rag.loaders.layout import TextBox, layout_text

    data = pytesseract.image_to_data(image, lang="chi_sim", config="--psm 3", output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[int]] = {}
    for i, word in enumerate(data["text"]):
        if word.strip():
            lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(i)
    boxes = []
    for ids in lines.values():
        x0, y0 = min(data["left"][i] for i in ids), min(data["top"][i] for i in ids)
        x1 = max(data["left"][i] + data["width"][i] for i in ids)
        y1 = max(data["top"][i] + data["height"][i] for i in ids)
        boxes.append(TextBox(x0, y0, x1, y1, "".join(data["text"][i] for i in ids)))
    return {"tesseract": "\n".join(box.text for box in boxes), "tess+layout": layout_text(boxes)}


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def figures(text: str) -> collections.Counter[str]:
    # Drop spaces except between two digits (Tesseract spaces out "45.6 亿 元"; table cells must stay apart).
    return collections.Counter(FIGURE.findall(re.sub(r"(?<![\d.])\s+|\s+(?![\d.])", "", text)))


def in_order(truth: str, text: str, piece: int = 30) -> float:
    """The share of the truth's 30-character pieces (those it holds once) that the text holds in the same order:
    the longest increasing run of their found positions over their number."""
    truth, text = squeeze(truth), squeeze(text)
    pieces = [truth[i : i + piece] for i in range(0, len(truth) - piece, piece)]
    pieces = [p for p in pieces if truth.count(p) == 1]
    found = [fuzz.partial_ratio_alignment(p, text) for p in pieces]
    starts = [a.dest_start for a in found if a is not None and a.score >= 70]
    tails: list[int] = []  # patience sorting: the longest increasing subsequence
    for start in starts:
        at = bisect.bisect_left(tails, start)
        tails[at : at + 1] = [start]
    return len(tails) / max(1, len(pieces))


def broken_sentences(truth: str, text: str) -> int:
    def count(s: str) -> int:
        return sum(1 for line in s.split("\n")[:-1] if line.strip() and line.strip()[-1] not in SENTENCE_ENDS)

    return max(0, count(text) - count(truth))


def loadavg() -> str:
    return Path("/proc/loadavg").read_text().strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timed runs per page and engine")
    parser.add_argument("--dump", type=Path, help="write each page's PNG, truth and OCR text here")
    args = parser.parse_args()
    if not FONT.exists():
        raise SystemExit(f"{FONT} is missing: apt-get install -y fonts-wqy-microhei")
    found = engines()
    if not found:
        raise SystemExit("no OCR engine installed (pip install rapidocr-onnxruntime==1.4.4 / pytesseract + apt)")
    docs = pages()
    print(f"engines: {', '.join(found)}; {os.cpu_count()} CPUs; loadavg before: {loadavg()}")
    for fn in found.values():  # warm up: load the models once, outside the timings
        fn(docs[0].image.crop((0, 0, 600, 300)))
    times: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    texts: dict[tuple[str, str], str] = {}
    for _ in range(args.repeats):
        for page in docs:
            for fn in found.values():
                start = time.perf_counter()
                for variant, text in fn(page.image).items():
                    texts[page.name, variant] = text
                    times[page.name, variant].append(time.perf_counter() - start)
    print(f"loadavg after: {loadavg()}")
    header = f"{'page':24} {'engine':11} {'char acc':>8} {'figures':>9} {'order':>6} {'midbreak':>8} {'s/page':>7}"
    print(header + "\n" + "-" * len(header))
    totals: dict[str, list[float]] = collections.defaultdict(list)
    variants = list(dict.fromkeys(variant for _, variant in texts))
    for page in docs:
        truth_figures = figures(page.truth)
        for name in variants:
            text = texts[page.name, name]
            acc = 1 - Levenshtein.normalized_distance(squeeze(page.truth), squeeze(text))
            hit = sum((truth_figures & figures(text)).values())
            seconds = statistics.median(times[page.name, name])
            order = in_order(page.truth, text)
            totals[name] += [acc, hit / max(1, truth_figures.total()), seconds]
            print(
                f"{page.name:24} {name:11} {acc:8.3f} {hit:4}/{truth_figures.total():<4} {order:6.0%} "
                f"{broken_sentences(page.truth, text):8} {seconds:7.2f}"
            )
            if args.dump:
                args.dump.mkdir(parents=True, exist_ok=True)
                stem = re.sub(r"\W+", "_", page.name)
                page.image.save(args.dump / f"{stem}.png")
                (args.dump / f"{stem}.truth.txt").write_text(page.truth, encoding="utf-8")
                (args.dump / f"{stem}.{name}.txt").write_text(text, encoding="utf-8")
    for name, values in totals.items():
        acc, fig, sec = (statistics.mean(values[i::3]) for i in range(3))
        print(f"{'mean':24} {name:11} {acc:8.3f} {fig:9.1%} {'':6} {'':8} {sec:7.2f}")


if __name__ == "__main__":
    main()
