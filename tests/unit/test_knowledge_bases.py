"""Knowledge bases on disk (names, kb.json, the default one) and the chat model ids that name them."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.api.openai_compat import route_model
from rag.errors import BackendUnavailableError, InvalidQueryError, KnowledgeBaseNotFoundError
from rag.kbs import DEFAULT_KB, check_name, ensure_kb, find_kb, list_kbs
from rag.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = Settings()
    settings.index.kbs_dir = tmp_path / "kbs"
    return settings


@pytest.mark.parametrize("name", ["石泉2023", "hanyin_county", "a.b-c"])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "default", "../etc", ".hidden", "a/b", "x" * 65, "a b"])
def test_bad_names_say_what_a_name_may_hold(name: str) -> None:
    with pytest.raises(InvalidQueryError, match="letters, digits, Chinese characters"):
        check_name(name)


def test_the_default_is_the_settings_own_and_named_ones_live_in_their_folder(
    settings: Settings, tmp_path: Path
) -> None:
    default = find_kb(settings, None)
    assert default.name == DEFAULT_KB and default.index_dir == settings.index.dir
    assert list(default.corpus) == list(settings.index.corpus)
    with pytest.raises(KnowledgeBaseNotFoundError, match=r"no knowledge base '汉阴'.*rag index build --kb 汉阴"):
        find_kb(settings, "汉阴")
    made = ensure_kb(settings, "汉阴")
    assert made.corpus == (tmp_path / "kbs" / "汉阴" / "corpus",) and made.corpus[0].is_dir()
    assert made.settings(settings).index.dir == tmp_path / "kbs" / "汉阴" / "index"
    elsewhere = ensure_kb(settings, "石泉", roots=[tmp_path / "资料"])
    assert elsewhere.corpus == ((tmp_path / "资料").resolve(),)
    assert not (tmp_path / "kbs" / "石泉" / "corpus").exists()
    assert [kb.name for kb in list_kbs(settings)] == ["default", "汉阴", "石泉"]
    assert find_kb(settings, "汉阴").describe()["built"] is False


def test_chat_model_ids_name_a_knowledge_base_a_backend_or_both() -> None:
    kbs = {"汉阴"}.__contains__
    assert route_model("汉阴", kbs) == ("汉阴", None)
    assert route_model("rag-extractive", kbs) == (None, "extractive")
    assert route_model("汉阴/rag-extractive", kbs) == ("汉阴", "extractive")
    assert route_model("rag", kbs) == (None, None)
    with pytest.raises(BackendUnavailableError, match="unknown knowledge base '石泉'"):
        route_model("石泉/rag-extractive", kbs)
    with pytest.raises(BackendUnavailableError, match="unknown model"):
        route_model("gpt-4", kbs)
