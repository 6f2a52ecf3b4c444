from pathlib import Path

import pytest

from domains import list_packs, load_pack
from domains.pack import load_pack_file
from knowledge.loaders import supported_suffixes
from verirag.errors import PackError

BUNDLED = ["finance", "legal", "medical"]


def test_three_bundled_packs_load() -> None:
    assert [p.name for p in list_packs()] == BUNDLED


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_pack_has_mixed_format_sample_documents(name: str) -> None:
    pack = load_pack(name)
    docs = sorted(p for p in pack.docs_dir.iterdir() if p.is_file())
    assert 6 <= len(docs) <= 10
    suffixes = {p.suffix for p in docs}
    assert {".md", ".pdf", ".docx", ".html", ".txt"} <= suffixes
    assert suffixes <= set(supported_suffixes())
    assert any(p.stem.endswith("-zh") for p in docs), "each pack ships Chinese documents"
    assert pack.refusal_message and pack.refusal_message_zh


def _write_pack(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "insurance"
    folder.mkdir()
    (folder / "pack.toml").write_text(
        'name = "insurance"\ntitle = "Insurance"\nlanguages = ["en"]\n'
        'system_prompt = "You answer from the insurer\'s policies."\n'
        'refusal_message = "The documents do not say."\n' + extra, encoding="utf-8")
    return folder / "pack.toml"


def test_a_new_domain_is_a_folder_not_code(tmp_path: Path) -> None:
    _write_pack(tmp_path, "")
    pack = load_pack("insurance", [tmp_path])
    assert pack.title == "Insurance"
    assert pack.retrieval.top_k == 4


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_packs_speak_to_chinese_readers_in_chinese(name: str) -> None:
    pack = load_pack(name)
    for text in (pack.title_for("zh"), pack.description_for("zh"), pack.refusal_for("zh"),
                 pack.disclaimer_for("zh")):
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text
    assert pack.title_for("en") == pack.title and pack.disclaimer_for("en") == pack.disclaimer


def test_a_pack_without_chinese_texts_shows_english(tmp_path: Path) -> None:
    _write_pack(tmp_path, "")
    pack = load_pack("insurance", [tmp_path])
    assert pack.title_for("zh") == "Insurance"
    assert pack.refusal_for("zh") == pack.refusal_message


@pytest.mark.parametrize(("extra", "field", "value"), [
    ("[retrieval]\ntop_k = 0\n", "retrieval.top_k", "0"),
    ("[generation]\nmode = \"creative\"\n", "generation.mode", "'creative'"),
    ("[chunking]\nchunk_size = 100\nchunk_overlap = 100\n", "chunking", "(table)"),
    ("[[slots]]\nname = \"age\"\ndescription = \"x\"\npatterns = [\"(unclosed\"]\n",
     "slots.0.patterns", "'(unclosed'"),
    ("colour = \"blue\"\n", "colour", "'blue'"),
])
def test_invalid_pack_names_file_field_and_value(tmp_path: Path, extra: str, field: str,
                                                  value: str) -> None:
    path = _write_pack(tmp_path, extra)
    with pytest.raises(PackError) as info:
        load_pack_file(path)
    message = str(info.value)
    assert str(path) in message
    assert f"field '{field}'" in message
    assert value in message


def test_unknown_pack_lists_the_available_ones() -> None:
    with pytest.raises(PackError, match=r"no domain pack named 'dental'.*finance, legal, medical"):
        load_pack("dental")
