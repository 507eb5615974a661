"""Prompts for LLM backends: numbered passages with titles and dates, instructions in the question's language,
a token budget that drops the lowest-ranked passages and cuts the last one."""

from __future__ import annotations

from rag.prompting import (
    MIN_PASSAGE_TOKENS,
    NOT_FOUND_EN,
    NOT_FOUND_ZH,
    build_prompt,
    estimate_tokens,
    format_passage,
    is_english,
    is_not_found,
)
from rag.types import Chunk, Hit


def _hit(i: int, text: str, *, date: str | None = "2020-05-14") -> Hit:
    return Hit(Chunk(f"d{i}:c0", f"d{i}", text, 0, len(text)), score=1.0 / (i + 1), title=f"报告{i}", date=date)


def _hits(n: int, chars: int = 200) -> list[Hit]:
    return [_hit(i, f"第{i}段" + "恒口示范区完成固定资产投资。"[i % 5] * chars) for i in range(n)]


def test_passages_are_numbered_with_title_and_date() -> None:
    hits = [_hit(0, "收入5341万元。\n增长 14.5%。"), _hit(1, "厂房3.1万平方米。", date=None)]
    prompt = build_prompt("恒口示范区收入多少？", hits, context_tokens=4096, max_tokens=256)
    user = prompt.messages[1]["content"]
    assert "[1] 《报告0》(2020-05-14) 收入5341万元。 增长 14.5%。" in user
    assert "[2] 《报告1》 厂房3.1万平方米。" in user
    assert user.index("[1]") < user.index("[2]") < user.index("恒口示范区收入多少？")
    assert prompt.n_passages == 2 and not prompt.truncated
    assert format_passage(7, hits[1]) == "[7] 《报告1》 厂房3.1万平方米。"


def test_chinese_question_gets_chinese_rules() -> None:
    prompt = build_prompt("恒口示范区收入多少？", _hits(1), context_tokens=4096, max_tokens=256)
    system = prompt.messages[0]["content"]
    assert prompt.messages[0]["role"] == "system" and prompt.messages[1]["role"] == "user"
    assert "只使用资料中的信息" in system and NOT_FOUND_ZH in system and "[1]" in system
    assert not prompt.english and "问题：" in prompt.messages[1]["content"]


def test_english_question_gets_english_rules() -> None:
    prompt = build_prompt("How much did Hengkou invest in 2019?", _hits(1), context_tokens=4096, max_tokens=256)
    system = prompt.messages[0]["content"]
    assert "Answer only from the numbered passages" in system and NOT_FOUND_EN in system
    assert prompt.english and "Question: How much" in prompt.messages[1]["content"]


def test_token_budget_drops_lowest_ranked_passages_and_cuts_the_last() -> None:
    hits = _hits(5, chars=200)
    full = build_prompt("恒口示范区投资多少？", hits, context_tokens=100_000, max_tokens=512)
    assert full.n_passages == 5
    small = build_prompt("恒口示范区投资多少？", hits, context_tokens=1800, max_tokens=512)
    assert 1 <= small.n_passages < 5 and small.truncated
    assert small.tokens <= 1800 - 512
    user = small.messages[1]["content"]
    assert f"[{small.n_passages}]" in user and f"[{small.n_passages + 1}]" not in user
    assert user.count("…") == 1  # only the last passage was cut


def test_budget_counts_with_the_given_tokenizer() -> None:
    hits = _hits(5, chars=100)

    def one_per_char(text: str) -> int:
        return len(text)

    prompt = build_prompt("投资多少？", hits, context_tokens=1000, max_tokens=300, count_tokens=one_per_char)
    assert prompt.tokens <= 1000 - 300
    assert prompt.n_passages < 5


def test_no_room_for_a_passage() -> None:
    prompt = build_prompt("投资多少？", _hits(3), context_tokens=300, max_tokens=256)
    assert prompt.n_passages == 0
    room = 300 - 256
    assert room < MIN_PASSAGE_TOKENS


def test_token_estimate_is_conservative() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("恒口示范区") == 10
    assert estimate_tokens("5341") == 4  # digits may each be a token
    assert estimate_tokens("Hengkou invested") >= 4
    assert estimate_tokens("é") == 2


def test_language_detection() -> None:
    assert is_english("How much did Hengkou invest in 2019?")
    assert not is_english("恒口示范区2019年完成固定资产投资多少？")


def test_not_found_reply_is_recognised() -> None:
    assert is_not_found("资料中没有相关内容。")
    assert is_not_found("资料中没有相关内容[1]")
    assert is_not_found("The passages do not contain the answer.")
    assert not is_not_found("恒口示范区收入5341万元[1]。资料中没有相关内容的部分从略，其余见下文说明。")
    assert not is_not_found("收入5341万元[1]")
