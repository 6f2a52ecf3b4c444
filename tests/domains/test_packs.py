import re
from pathlib import Path

import pytest

from domains import list_packs, load_pack
from domains.pack import load_pack_file
from finetune.config import TrainConfig
from knowledge.loaders import supported_suffixes
from verirag.errors import FinetuneError, PackError

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
    ("[[slots]]\nname = \"tier\"\ndescription = \"x\"\npatterns = ['({values})']\n",
     "slots.0.patterns", "'({values})'"),
    ("[[slots]]\nname = \"tier\"\ndescription = \"x\"\nvalues = [\"Gold\", \"gold\"]\n",
     "slots.0.values", "'gold'"),
    ("[[slots]]\nname = \"tier\"\ndescription = \"x\"\nvalue_patterns = ['.+']\n",
     "slots.0.value_patterns", "'.+'"),
    ("[[slots]]\nname = \"tier\"\ndescription = \"x\"\nentity_nouns = [\"policy\"]\n",
     "slots.0", "(table)"),
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


def test_slot_values_are_declared_once_and_written_into_the_patterns(tmp_path: Path) -> None:
    _write_pack(tmp_path, """
[[slots]]
name = "law"
description = "governing law"
values = ["England", "England and Wales"]
patterns = ['\\bunder ({values}) law\\b']
entity = true
entity_nouns = ["jurisdiction"]
entity_nouns_zh = ["法域"]
""")
    pack = load_pack("insurance", [tmp_path])
    match = re.search(pack.slots[0].patterns[0], "is it valid under England and Wales law?")
    assert match is not None and match.group(1) == "England and Wales", "longest value first"
    assert pack.entity_nouns("en") == ("jurisdiction",)
    assert pack.entity_nouns("zh") == ("法域",)
    again = type(pack).model_validate(pack.model_dump())
    assert again.slots == pack.slots, "a dumped pack validates to the same pack"


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_packs_name_their_entity_nouns(name: str) -> None:
    pack = load_pack(name)
    assert pack.entity_nouns("en") and pack.entity_nouns("zh")


def test_the_lora_section_is_the_training_runs_defaults(tmp_path: Path) -> None:
    _write_pack(tmp_path, "[lora]\nr = 8\nepochs = 2\n")
    lora = load_pack("insurance", [tmp_path]).lora
    config = TrainConfig.from_pack(lora, epochs=5, learning_rate=None, max_steps=3)
    assert (config.r, config.epochs, config.learning_rate, config.max_steps) == (
        8, 5, lora.learning_rate, 3)
    assert config.hyperparameters()["target_modules"] == ["q_proj", "v_proj"]
    with pytest.raises(FinetuneError, match=r"training setting r = 0"):
        TrainConfig.from_pack(lora, r=0)
    with pytest.raises(FinetuneError, match=r"unknown training setting 'rank'"):
        TrainConfig.from_pack(lora, rank=4)
