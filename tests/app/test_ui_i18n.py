"""The app's own words in Chinese: a complete catalog, and a session that switches language."""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.services import Runtime
from app.ui import state
from app.ui.navigation import page_files
from app.ui.zh import ZH
from tests.app.signin import PASSWORD, ensure_user, sign_in

UI = Path(__file__).resolve().parents[2] / "app" / "ui"
MAIN = str(UI / "main.py")


def _translated_literals() -> list[tuple[str, str]]:
    """(file, English text) of every ``tr("...")`` in the app's UI code."""
    found = []
    for path in sorted(UI.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "tr" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                found.append((path.name, node.args[0].value))
    return found


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_ui_text_has_chinese_with_the_same_placeholders() -> None:
    used = _translated_literals() + [("navigation", f.title) for f in page_files()]
    assert len(used) > 150
    missing = [(where, text) for where, text in used if text not in ZH]
    assert not missing
    wrong = [text for _, text in used if _fields(text) != _fields(ZH[text])]
    assert not wrong
    unused = set(ZH) - {text for _, text in used}
    assert not unused, "catalog entries no page shows any more"


@pytest.fixture
def app(runtime: Runtime) -> Iterator[AppTest]:
    state.use_runtime(runtime)
    yield AppTest.from_file(MAIN, default_timeout=300)
    state.use_runtime(None)


def test_a_link_with_lang_zh_opens_the_app_in_chinese_through_sign_in(app: AppTest,
                                                                        runtime: Runtime) -> None:
    ensure_user(runtime, "zhang", "finance", "viewer")
    app.query_params["lang"] = "zh"
    at = app.run()
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert at.button[0].label == "登录"
    at.text_input[0].input("zhang")
    at.text_input[1].input(PASSWORD)
    at = at.button[0].click().run()
    assert at.header[0].value == "金融助手", "the language survives signing in"
    assert at.sidebar.radio[0].value == "zh"


def test_the_chat_page_switches_to_chinese_and_back(app: AppTest, runtime: Runtime) -> None:
    at = sign_in(app, runtime)
    at.query_params["pack"] = "finance"
    at = at.run()
    assert at.header[0].value == "Finance assistant"
    at.sidebar.radio[0].set_value("zh").run()
    assert at.header[0].value == "金融助手"
    assert at.chat_input[0].placeholder == "就文档提问（中文或 English）"
    assert at.sidebar.selectbox(key="pack").label == "领域包"
    assert "金融" in at.sidebar.selectbox(key="pack").options
    assert any(c.value == "诺斯布里奇银行 / 华信商业银行：信贷、KYC/反洗钱、风险政策与年度报告。"
               for c in at.sidebar.caption)
    assert at.sidebar.button(key="new-conversation").label == "新对话"
    at.chat_input[0].set_value("华信商业银行2023年不良贷款率是多少？").run()
    assert not at.exception
    assert any("1.36%" in m.value for m in at.main.markdown)
    assert any(e.label == "回答是如何得出的" for e in at.expander)
    table = at.sidebar.table[0].value
    assert "所询问的指标" in list(table["槽位"]) and "第 1 轮 · 领域包规则" in list(table["来源"])
    assert at.query_params["lang"] == "zh"  # a link to this page opens it in Chinese
    at.sidebar.radio[0].set_value("en").run()
    assert at.header[0].value == "Finance assistant"
    assert any(e.label == "How this answer was made" for e in at.expander)
