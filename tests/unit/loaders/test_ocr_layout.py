"""The OCR layout step on hand-made boxes: columns, lines, paragraphs, and characters left as recognised."""

from __future__ import annotations

from rag.loaders.layout import TextBox, layout_text

CHAR = 20.0  # the height of a box (one character) in these pages
PITCH = 30.0


def row(y: int, *, x0: float = 0, width_chars: float = 30, text: str, indent: bool = False) -> TextBox:
    """A line box ``y`` lines down a column starting at ``x0``."""
    start = x0 + (2 * CHAR if indent else 0)
    return TextBox(start, y * PITCH, x0 + width_chars * CHAR, y * PITCH + CHAR, text, 0.99)


def column(x0: float, lines: list[tuple[str, bool, float]]) -> list[TextBox]:
    """Boxes of a 12-character column: (text, indented, width in characters) per line."""
    return [row(i, x0=x0, width_chars=w, text=t, indent=ind) for i, (t, ind, w) in enumerate(lines)]


def test_a_sentence_broken_over_lines_is_rejoined() -> None:
    boxes = [
        row(0, text="全年完成固定资产投资45.6亿元，同比增长", indent=True),
        row(1, text="11.2%，节约资金180多万元，办理时限压缩"),
        row(2, text="到30个工作日以内。", width_chars=9),
    ]
    assert layout_text(boxes) == (
        "全年完成固定资产投资45.6亿元，同比增长11.2%，节约资金180多万元，办理时限压缩到30个工作日以内。"
    )


def test_a_paragraph_end_is_kept() -> None:
    boxes = [
        row(0, text="第一段的第一行没有句号，所以它继续到下一", indent=True),
        row(1, text="行，直到这里结束。", width_chars=9),  # short and ends a sentence
        row(2, text="第二段的第一行缩进两个字符，因此另起一段", indent=True),
        row(3, text="并且这一行占满整个栏宽，接着又是一行完整"),
        row(4, text="的文字。", width_chars=4),
    ]
    assert layout_text(boxes) == (
        "第一段的第一行没有句号，所以它继续到下一行，直到这里结束。\n"
        "第二段的第一行缩进两个字符，因此另起一段并且这一行占满整个栏宽，接着又是一行完整的文字。"
    )


def test_an_indented_next_line_ends_a_paragraph_even_after_a_full_line() -> None:
    boxes = [row(0, text="一整行的结尾恰好是句号。"), row(1, text="新的一段从缩进开始。", indent=True)]
    assert layout_text(boxes) == "一整行的结尾恰好是句号。\n新的一段从缩进开始。"


def test_two_columns_are_read_left_column_first() -> None:
    left = column(
        0,
        [
            ("左栏第一段开头，这一行写满了栏宽", True, 12),
            ("继续左栏的句子，城镇新增就业1.2万", False, 12),
            ("人，完成目标任务。", False, 6),
            ("左栏第二段，投入资金3000万元，实施", True, 12),
            ("民生实事项目12个，这一段延续到右栏", False, 12),
        ],
    )
    right = column(
        15 * CHAR,  # a gutter three characters wide
        [
            ("的第一行，建成乡镇综合文化站45个。", False, 12),
            ("右栏第二段开头，全年受理群众来信来", True, 12),
            ("访850件，按期办结率98.5%。", False, 8),
        ],
    )
    boxes = [box for pair in zip(left, right, strict=False) for box in pair] + left[len(right) :]  # rows interleaved
    assert layout_text(boxes) == (
        "左栏第一段开头，这一行写满了栏宽继续左栏的句子，城镇新增就业1.2万人，完成目标任务。\n"
        "左栏第二段，投入资金3000万元，实施民生实事项目12个，这一段延续到右栏的第一行，建成乡镇综合文化站45个。\n"
        "右栏第二段开头，全年受理群众来信来访850件，按期办结率98.5%。"
    )


def test_a_headline_over_two_columns_comes_first() -> None:
    headline = TextBox(6 * CHAR, -2 * PITCH, 21 * CHAR, -2 * PITCH + 1.5 * CHAR, "政府工作报告（摘要）")
    lines = [("一", True, 12), ("二的文字写满了这一栏。", False, 12), ("三结束。", False, 5)]
    left = column(0, [("左栏" + text, indent, width) for text, indent, width in lines])
    right = column(15 * CHAR, [("右栏" + text, indent, width) for text, indent, width in lines])
    text = layout_text([*right, headline, *left])
    assert text.split("\n")[0] == "政府工作报告（摘要）"
    assert text.index("左栏三结束。") < text.index("右栏一")


def test_a_table_is_read_row_by_row_with_cells_kept_apart() -> None:
    cells = [["指标", "2023年", "2024年"], ["地区生产总值", "1234.5亿元", "1302.8亿元"], ["增速", "5.1%", "5.5%"]]
    boxes = [
        TextBox(x * 8 * CHAR, y * PITCH, x * 8 * CHAR + len(cell) * CHAR * 0.8, y * PITCH + CHAR, cell)
        for y, line in enumerate(cells)
        for x, cell in enumerate(line)
    ]
    assert layout_text(boxes[::-1]).split("\n") == [
        "指标 2023年 2024年",
        "地区生产总值 1234.5亿元 1302.8亿元",
        "增速 5.1% 5.5%",
    ]


def test_boxes_of_one_line_are_joined_in_x_order() -> None:
    boxes = [
        TextBox(200, 2, 400, 22, "同比增长11.2%。"),
        TextBox(0, 0, 190, 20, "全年完成投资45.6亿元，"),
        TextBox(410, 1, 500, 21, "（初步核算）"),
    ]
    assert layout_text(boxes) == "全年完成投资45.6亿元，同比增长11.2%。（初步核算）"


def test_characters_are_never_changed() -> None:
    # Recognition slips (O for 0, a full-width ％, a stray space) stay as recognised: no guessing at figures.
    odd = ["投资4O.6亿元，增长11.2％", "180多万 元，30个工作日以内，"]
    boxes = [row(0, text=odd[0]), row(1, text=odd[1])]
    assert layout_text(boxes) == odd[0] + odd[1]


def test_latin_words_broken_over_lines_keep_a_space() -> None:
    boxes = [row(0, text="The growth rate of GDP was"), row(1, text="about five per cent.", width_chars=12)]
    assert layout_text(boxes) == "The growth rate of GDP was about five per cent."


def test_no_boxes_no_text() -> None:
    assert layout_text([]) == ""
    assert layout_text([TextBox(0, 0, 10, 10, "  ")]) == ""
