"""Audit rows in plain words: who did what, to which document or user, with what result.

The log stores each row's detail as JSON for machines (``verirag audit export``); a reviewer
reads a sentence. Every action verirag audits is named here (``ACTIONS``), so a filter can
offer them all, and an action this module does not know still reads as its name and detail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.audit import AuditEntry

Detail = dict[str, Any]


def _files(d: Detail) -> str:
    return "; ".join(f"{f.get('name')}: {f.get('outcome')}"
                     + (f" ({f['reason']})" if f.get("reason") else "")
                     for f in d.get("files") or [])


def _answer(d: Detail) -> str:
    cited = len(d.get("cited") or [])
    said = {"answer": f"answered, citing {cited} passage(s)", "refuse": "refused",
            "clarify": "asked back", "social": "replied"}.get(str(d.get("decision")),
                                                              str(d.get("decision")))
    return f"asked “{d.get('question', '')}” → {said}"


def _labels(values: Any) -> str:
    return ", ".join(values or []) or "none"


SENTENCES: dict[str, Callable[[Detail], str]] = {
    "answer": _answer,
    "feedback": lambda d: ("rated turn {} {}".format(
        d.get("turn"), {1: "up", -1: "down", 0: "(cleared)"}.get(d.get("value"), "?"))
        + (f": “{d['comment']}”" if d.get("comment") else "")),
    "upload": lambda d: f"uploaded {_files(d)}"
    + (f" (labels {_labels(d.get('labels'))})" if d.get("labels") else ""),
    "delete": lambda d: f"deleted {d.get('name')} (document {d.get('doc_id')})",
    "label": lambda d: (f"relabelled {d.get('name')}: {_labels(d.get('before'))} → "
                        f"{_labels(d.get('after'))}"),
    "reindex": lambda d: f"re-indexed the knowledge base ({d.get('passages')} passages)",
    "login": lambda d: "signed in",
    "login_failed": lambda d: "failed to sign in",
    "login_throttled": lambda d: "was refused sign-in after too many failures",
    "logout": lambda d: "signed out",
    "user_add": lambda d: f"created user {d.get('user')}",
    "user_remove": lambda d: f"removed user {d.get('user')}",
    "user_password": lambda d: f"changed the password of {d.get('user')}",
    "role_grant": lambda d: (f"made {d.get('user')} {d.get('role')} of {d.get('scope')}"
                             + (f", cleared for {_labels(d.get('clearance'))}"
                                if d.get("clearance") else "")),
    "role_revoke": lambda d: f"took {d.get('user')}'s role on {d.get('scope')}",
    "key_add": lambda d: f"created API key vr-{d.get('key')}-… for {d.get('user')}"
    + (f" ({d['label']})" if d.get("label") else ""),
    "key_revoke": lambda d: f"revoked API key vr-{d.get('key')}-… of {d.get('user')}",
    "conversation_rename": lambda d: f"renamed a conversation to “{d.get('title')}”",
    "conversation_delete": lambda d: f"deleted the conversation “{d.get('title')}”",
    "feedback_export": lambda d: "exported the rated answers as training data",
    "adapter": lambda d: f"{d.get('op')} adapter {d.get('adapter')}",
    "finetune": lambda d: f"trained adapter {d.get('adapter')}",
    "tune": lambda d: f"tuned retrieval on {d.get('dataset')}",
}
ACTIONS: tuple[str, ...] = tuple(SENTENCES)


def describe(entry: AuditEntry) -> str:
    """One row in a sentence; an action not named above reads as its name and detail keys."""
    sentence = SENTENCES.get(entry.action)
    if sentence is None:
        return f"{entry.action}: " + ", ".join(f"{k}={v}" for k, v in entry.detail.items())
    try:
        return sentence(entry.detail)
    except (KeyError, TypeError, ValueError, AttributeError):  # an older row's shape
        return f"{entry.action}: {entry.detail}"
