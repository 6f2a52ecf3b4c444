"""The search tokenizer: what BM25 can match and how question coverage is measured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.text.tokenize import coverage, key_terms, search_tokens

REPO = Path(__file__).resolve().parents[2]


def test_latin_text_is_lowercased_and_keeps_numbers_and_identifiers_whole() -> None:
    tokens = search_tokens("The CET1 ratio was 12.5% in Q3 2023, up from 1,000.50.")
    assert tokens == ["cet1", "ratio", "12.5", "q3", "2023", "up", "1000.50"]


def test_a_comma_between_small_numbers_is_a_list_not_a_thousands_separator() -> None:
    assert search_tokens("see items 2,3 and 4") == ["see", "items", "2", "3", "4"]


def test_full_width_characters_match_their_ascii_form() -> None:
    assert search_tokens("ＣＥＴ１比率") == search_tokens("CET1比率")


@pytest.mark.parametrize("text", ["the of and", "？！。，、", "", "   \n"])
def test_text_with_no_content_gives_no_tokens(text: str) -> None:
    assert search_tokens(text) == []


def test_chinese_gets_jieba_words_and_bigrams_so_odd_segmentation_still_matches() -> None:
    # jieba cuts "张某于" into "张" + "某于"; the bigram "张某" still lets the name match.
    tokens = search_tokens("被告人张某于2019年3月驾驶机动车")
    assert "机动车" in tokens  # a jieba word longer than a bigram
    assert "张某" in tokens  # only a bigram: jieba never produces it here
    assert "2019" in tokens


def test_chinese_stopwords_and_punctuation_are_dropped() -> None:
    tokens = search_tokens("原告的父亲是否到场？")
    assert not {"的", "是否", "？", "?"} & set(tokens)
    assert "原告" in tokens and "父亲" in tokens


def test_mixed_text_tokenizes_each_script_its_own_way() -> None:
    tokens = search_tokens("COVID-19疫苗的有效率")
    assert tokens[:2] == ["covid", "19"]
    assert {"疫苗", "有效率", "有效", "效率"} <= set(tokens)


def test_key_terms_are_distinct_content_words_without_bigrams() -> None:
    assert key_terms("被告是否了解原告有无机动车驾驶证？原告呢？") == [
        "被告",
        "了解",
        "原告",
        "机动车",
        "驾驶证",
    ]
    assert key_terms("What is the CET1 ratio of the bank?") == ["cet1", "ratio", "bank"]


def test_coverage_matches_chinese_terms_however_the_passage_is_segmented() -> None:
    passage = "被告人张某于2019年3月驾驶机动车撞伤行人"
    assert coverage("张某撞伤了谁？", passage) == 1.0
    assert coverage("张某撞伤了哪位医生？", passage) == pytest.approx(2 / 3)


def test_coverage_matches_latin_terms_as_whole_tokens() -> None:
    assert coverage("What is the CET1 ratio?", "Our CET10 ratio rose.") == 0.5
    assert coverage("What is the CET1 ratio?", "The cet1 RATIO rose.") == 1.0


def test_a_question_without_key_terms_has_zero_coverage() -> None:
    assert coverage("是什么？", "任何内容") == 0.0


def test_loading_jieba_prints_nothing_on_stderr() -> None:
    # A fresh interpreter: in this one jieba may already be loaded and silent for that reason.
    code = "from knowledge.text.tokenize import search_tokens; search_tokens('中文分词')"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert done.stderr == ""
