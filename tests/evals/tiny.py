"""A tiny evaluation set made in the tests: five passages (one Chinese), four questions and a
three-turn dialog, shared by the evaluation and tuning tests."""

from __future__ import annotations

from typing import Any

CORPUS = [
    {"id": "hand-1", "title": "Hand hygiene", "source": "test",
     "text": "Staff must clean their hands with alcohol rub before and after every patient "
             "contact. Soap and water are required after caring for patients with diarrhoea."},
    {"id": "warf-1", "title": "Warfarin", "source": "test",
     "text": "Warfarin is stopped five days before a planned procedure. The INR is checked the "
             "day before surgery."},
    {"id": "sepsis-1", "title": "Sepsis bundle", "source": "test",
     "text": "Give broad-spectrum antibiotics within one hour of recognising sepsis. Take blood "
             "cultures before the first dose."},
    {"id": "falls-1", "title": "跌倒预防", "source": "test",
     "text": "所有住院患者入院时均应进行跌倒风险评估。高风险患者每班复评一次。"},
    {"id": "insulin-1", "title": "Insulin", "source": "test",
     "text": "Check capillary blood glucose before meals and at bedtime for patients on insulin. "
             "Treat hypoglycaemia below 4 mmol/L."},
]
QUESTIONS: list[dict[str, Any]] = [
    {"id": "q1", "question": "When should warfarin be stopped before a procedure?",
     "answer": "five days before", "gold_ids": ["warf-1"]},
    {"id": "q2", "question": "How soon must antibiotics be given in sepsis?",
     "answer": "within one hour", "gold_ids": ["sepsis-1"]},
    {"id": "q3", "question": "住院患者何时进行跌倒风险评估？", "answer": "入院时",
     "gold_ids": ["falls-1"]},
    {"id": "q4", "question": "What is the hospital parking fee?", "answer": "", "gold_ids": []},
    {"id": "d1", "turns": [
        {"question": "Tell me about hand hygiene.", "answer": "Clean hands around patients.",
         "gold_ids": None},
        {"question": "When are soap and water required instead of alcohol rub?",
         "answer": "after caring for patients with diarrhoea", "gold_ids": ["hand-1"]},
        {"question": "What glucose level counts as hypoglycaemia?", "answer": "below 4 mmol/L",
         "gold_ids": ["insulin-1"]}]},
]
