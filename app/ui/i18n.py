"""The app's own words in English or Chinese, chosen per browser session.

Documents, questions and answers are already in whatever language they were written in; this
covers the labels, captions and messages the app itself shows. The English text is the key
(pages stay readable, and an entry missing from the catalog shows English rather than a key
name); ``app/ui/zh.py`` holds the Chinese, and a test checks that every ``tr("...")`` in
``app/ui`` has an entry there with the same ``{placeholders}``. The choice lives in the
session and in the ``lang`` query parameter, so a link can open the app in Chinese.
Messages that come from the services (a rejected file's reason, a refused sign-in) stay in
English: they are shared with the CLI and the audit log.
"""

from __future__ import annotations

import streamlit as st

from app.ui.zh import ZH

LANG_KEY = "ui-lang"
# The switch has a key of its own: Streamlit forgets a widget's value when the widget is not
# drawn in a run, and the sign-in page and the sidebar draw two different switches.
_PICKER_KEY = "ui-lang-picker"
LANGUAGES = {"en": "English", "zh": "中文"}


def language() -> str:
    """This session's UI language: the picker's choice, else ``?lang=``, else English."""
    chosen = st.session_state.get(LANG_KEY)
    if chosen not in LANGUAGES:
        wanted = st.query_params.get("lang")
        chosen = wanted if wanted in LANGUAGES else "en"
        st.session_state[LANG_KEY] = chosen
    return str(chosen)


def tr(text: str, **values: object) -> str:
    """``text`` in the session's language, with ``{name}`` placeholders filled from ``values``."""
    shown = ZH.get(text, text) if language() == "zh" else text
    return shown.format(**values) if values else shown


def language_picker() -> None:
    """The language switch (sidebar and sign-in page); keeps ``?lang=`` in step with it."""
    st.session_state[_PICKER_KEY] = language()
    st.radio("Language / 语言", list(LANGUAGES), key=_PICKER_KEY, horizontal=True,
             format_func=LANGUAGES.__getitem__, label_visibility="collapsed", on_change=_picked)
    st.query_params["lang"] = language()


def _picked() -> None:
    st.session_state[LANG_KEY] = st.session_state[_PICKER_KEY]
