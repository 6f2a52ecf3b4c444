"""Redaction: personal data disappears, the numbers people ask about do not."""

from __future__ import annotations

import pytest

from domains.pack import RedactionConfig
from knowledge.redact import redact_document, redact_text
from knowledge.types import Block, ParsedDocument

ON = RedactionConfig(enabled=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail jane.doe@nhs.uk today", "Mail [EMAIL] today"),
        ("联系zhang.wei@bank.com.cn。", "联系[EMAIL]。"),
        ("Call +44 20 7946 0958.", "Call [PHONE]."),
        ("Call 020 7946 0958 now", "Call [PHONE] now"),
        ("Call (555) 123-4567 now", "Call [PHONE] now"),
        ("Call 555-123-4567 now", "Call [PHONE] now"),
        ("请致电13812345678咨询", "请致电[PHONE]咨询"),
        ("手机 138 1234 5678", "手机 [PHONE]"),
        ("电话：010-12345678。", "电话：[PHONE]。"),
        ("Tel +86 138 1234 5678", "Tel [PHONE]"),
        ("身份证号11010519491231002X。", "身份证号[NATIONAL_ID]。"),
        ("NI number AB123456C on file", "NI number [NATIONAL_ID] on file"),
        ("SSN 123-45-6789.", "SSN [NATIONAL_ID]."),
        ("Card 4111 1111 1111 1111 declined", "Card [CARD] declined"),
        ("Card 5555-5555-5555-4444 ok", "Card [CARD] ok"),
        ("Amex 378282246310005 ok", "Amex [CARD] ok"),
    ],
)
def test_personal_data_is_replaced_by_typed_placeholders(text: str, expected: str) -> None:
    assert redact_text(text, ON) == expected


@pytest.mark.parametrize(
    "text",
    [
        "INR 2.0-3.0",
        "CET1 ratio 14.2%",
        "£1,250,000",
        "¥1,250,000.00 and $3,400,000",
        "2023-12-31",
        "31/12/2023 and 2023年12月31日",
        "20231231",
        "section 3.2.1",
        "30 mL/kg",
        "BP 120/80 mmHg, HbA1c 6.5%",
        "fiscal years 2019 2020 2021 2022",
        "Case No. 2023-0456 under Article 12",
        "Tier 1 capital rose +5.2% to 1 250 000",
        "ICD-10 I10, eGFR 60 mL/min/1.73m2",
        "(2023)京0105民初12345号",
    ],
)
def test_clinical_and_financial_numbers_survive(text: str) -> None:
    assert redact_text(text, ON) == text


@pytest.mark.parametrize(
    "text",
    [
        "11010519491231002Y",  # wrong check character
        "110105194912310021",  # wrong check digit
        "110105194913310020",  # month 13
        "4111 1111 1111 1112",  # fails Luhn
        "000-12-3456",  # SSN area never issued
        "QQ123456C",  # not a valid NI prefix
    ],
)
def test_identifier_lookalikes_that_fail_validation_survive(text: str) -> None:
    assert redact_text(text, ON) == text


def test_disabled_config_changes_nothing() -> None:
    text = "jane@example.com 13812345678"
    assert redact_text(text, RedactionConfig(enabled=False)) == text
    doc = ParsedDocument("a.txt", "text/plain", [Block("paragraph", text)])
    out, counts = redact_document(doc, RedactionConfig(enabled=False))
    assert out.text == text and counts == {}


def test_only_configured_kinds_are_masked() -> None:
    cfg = RedactionConfig(enabled=True, kinds=["email"])
    assert redact_text("a@b.org 13812345678", cfg) == "[EMAIL] 13812345678"


def test_pack_patterns_get_their_own_placeholder() -> None:
    cfg = RedactionConfig(enabled=True, patterns={"mrn": r"MRN[:\s]*\d{7}"})
    assert redact_text("Patient MRN: 1234567, call 07700 900123", cfg) == (
        "Patient [MRN], call [PHONE]"
    )


def test_document_blocks_and_table_cells_are_masked_and_counted() -> None:
    rows = (("Name", "Phone", "Email"), ("Li", "13812345678", "li@example.cn"))
    table_text = (
        "| Name | Phone | Email |\n| --- | --- | --- |\n| Li | 13812345678 | li@example.cn |"
    )
    doc = ParsedDocument(
        "clinic.md",
        "text/markdown",
        [
            Block("heading", "Contacts", level=1),
            Block("paragraph", "Write to a@x.org or b@y.org; INR 2.0-3.0.", page=3),
            Block("table", table_text, page=3, rows=rows),
        ],
        metadata={"source": "upload"},
    )
    out, counts = redact_document(doc, ON)
    assert out.blocks[1].text == "Write to [EMAIL] or [EMAIL]; INR 2.0-3.0."
    assert out.blocks[1].page == 3
    assert out.blocks[2].rows == (("Name", "Phone", "Email"), ("Li", "[PHONE]", "[EMAIL]"))
    assert "13812345678" not in out.text and "li@example.cn" not in out.text
    assert counts == {"email": 3, "phone": 1}  # a table's cells are counted once, not twice
    assert doc.blocks[1].text.startswith("Write to a@x.org")  # the input is left untouched
    assert out.metadata == doc.metadata and out.name == doc.name


def test_mixed_language_document() -> None:
    text = "患者张某，电话+86 138 1234 5678，email zhang@hosp.cn。Target INR 2.0-3.0；复查14天。"
    assert (
        redact_text(text, ON)
        == "患者张某，电话[PHONE]，email [EMAIL]。Target INR 2.0-3.0；复查14天。"
    )
