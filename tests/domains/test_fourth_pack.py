"""A fourth domain is a folder, not code: an insurance pack written into a temp dir holds a
whole conversation.

The pack declares what makes insurance insurance (its products and cover tiers as slot values,
"the policy" as the noun that refers back to a product, an intent that needs the tier), ships
three small documents, and is found through ``packs_path``. The scripted dialog then checks
what a user notices: a follow-up about "the policy" answered for the product asked about before,
a clarifying question, the bare answer to it understood, and a new topic searched as asked.
Extractive mode, so no generator is loaded.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.dialog.manager import DialogManager, TurnResult
from app.dialog.state import SlotValue
from app.models import ModelRegistry
from app.services import Runtime
from verirag.settings import load_settings

PACK_TOML = r"""
name = "insurance"
title = "Insurance"
languages = ["en"]
description = "Harbourline Mutual: policy wordings and claims procedures."
system_prompt = "You answer from the insurer's policy wordings quoted to you, and nothing else."
refusal_message = "The policy documents do not say."

[generation]
mode = "extractive"

[[slots]]
name = "product"
description = "the insurance product, e.g. home insurance, motor insurance"
values = ["home insurance", "motor insurance", "travel insurance"]
patterns = ['\b({values})\b']
entity = true
entity_nouns = ["policy"]

[[slots]]
name = "tier"
description = "the cover tier, e.g. Bronze, Silver, Gold"
values = ["Bronze", "Silver", "Gold"]
patterns = ['\b({values})\s+(?:tier|cover|plan)\b']
required_for = ["limits"]

[[intents]]
name = "limits"
description = "cover limits"
patterns = ['\blimits?\b']
"""

DOCS = {
    "home-insurance-policy.md": """# Harbourline home insurance policy

## Excess
The standard excess on home insurance is £250 for each claim.

## Cooling-off period
You may cancel home insurance within 14 days of the start date and receive a full refund.

## Jewellery limits by cover tier
| Cover tier | Single item limit for jewellery |
|---|---|
| Bronze | £1,000 |
| Silver | £2,500 |
| Gold | £5,000 |
""",
    "motor-insurance-policy.md": """# Harbourline motor insurance policy

## Excess
The standard excess on motor insurance is £400 for each claim.

## Cooling-off period
You may cancel motor insurance within 30 days of the start date and receive a full refund.
""",
    "claims-procedure.md": """# Harbourline claims procedure

## Burglary
Report a burglary to the police and obtain a crime reference number before you make a claim.
Harbourline settles agreed burglary claims within 10 working days of receiving the last
document it asked for.
""",
}


@pytest.fixture
def insurance(tmp_path: Path, models: ModelRegistry) -> DialogManager:
    """The insurance pack as a folder on ``packs_path``, its documents indexed."""
    folder = tmp_path / "packs" / "insurance"
    (folder / "docs").mkdir(parents=True)
    (folder / "pack.toml").write_text(PACK_TOML, encoding="utf-8")
    for name, text in DOCS.items():
        (folder / "docs" / name).write_text(text, encoding="utf-8")
    settings = load_settings(home=tmp_path / "home", packs_path=[tmp_path / "packs"])
    rt = Runtime(settings, models)
    assert "insurance" in rt.resources.pack_names()
    pack = rt.resources.pack("insurance")
    report = rt.resources.ingestor("insurance").ingest([pack.docs_dir])
    assert report.count("indexed") == len(DOCS), report.summary
    return rt.dialog("insurance", with_generator=False)


def _docs(result: TurnResult) -> set[str]:
    return {p.doc_name for _, p in result.answer.cited_passages()}


def test_a_fourth_pack_holds_a_conversation_without_code(insurance: DialogManager) -> None:
    dm = insurance
    sid = dm.start()

    first = dm.turn(sid, "What is the excess on home insurance?")
    assert first.state.slots["product"].value == "home insurance"
    assert first.answer.decision == "answer" and "£250" in first.answer.text
    assert _docs(first) == {"home-insurance-policy.md"}

    # "the policy" is this pack's entity noun: it means the product asked about before, so
    # the home cooling-off period is given, not the motor one.
    follow = dm.turn(sid, "What is the cooling-off period for the policy?")
    assert follow.rewrite.follow_up
    assert "home insurance" in follow.rewrite.query and "the policy" not in follow.rewrite.query
    assert "replaced 'the policy' with 'home insurance'" in follow.rewrite.reason
    assert "14 days" in follow.answer.text and "30 days" not in follow.answer.text
    assert _docs(follow) == {"home-insurance-policy.md"}

    # Limits depend on the tier: ask, don't guess.
    limit = dm.turn(sid, "What is the single item limit for jewellery?")
    assert limit.answer.decision == "clarify"
    assert limit.answer.text == ("To answer about cover limits, I need to know the cover tier, "
                                 "e.g. Bronze, Silver, Gold. Could you tell me?")
    assert limit.state.awaiting == ["tier"]

    # The bare answer is a declared value: taken in the pack's spelling, and searched with
    # the question it answers.
    tier = dm.turn(sid, "gold")
    assert tier.state.slots["tier"] == SlotValue("Gold", 4, "user")
    assert tier.rewrite.query == "What is the single item limit for jewellery Gold"
    assert tier.answer.decision == "answer"
    assert "£5,000" in tier.answer.text and "£1,000" not in tier.answer.text

    # A new topic is searched as asked: nothing of the home policy or the tier is carried.
    claims = dm.turn(sid, "How soon are agreed burglary claims settled?")
    assert not claims.rewrite.follow_up
    assert claims.rewrite.query == "How soon are agreed burglary claims settled?"
    assert "10 working days" in claims.answer.text
    assert _docs(claims) == {"claims-procedure.md"}
