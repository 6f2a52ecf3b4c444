"""verirag's web app: the entry script ``verirag serve`` runs (``streamlit run app/ui/main.py``).

It sets up what every page shares — page config, navigation, the domain-pack selector in the
sidebar — then runs the chosen page. Pages are discovered, not listed: every
``app/ui/views/NN_Title.py`` becomes a page titled "Title", ordered by NN, with the material
icon named by the file's ``ICON = ":material/...:"`` line, shown to users whose role allows its
``ACTION = "..."`` (see ``app.auth.principal.ACTIONS``; default ``chat``). Nobody sees any page
before signing in. Adding a page is adding one file.
The folder is not called ``pages/``: Streamlit would also read that as its older file-based
page registry, and a link like ``/documents`` then opens with a "Page not found" dialog.
"""

from __future__ import annotations

import logging

import streamlit as st

from app.ui.i18n import language, language_picker, tr
from app.ui.login import account_box, login_page, signed_in, write_cookie
from app.ui.navigation import discover_pages
from app.ui.state import PACK_KEY, PACK_WIDGET, choose_pack, runtime
from verirag.errors import VeriragError

log = logging.getLogger("verirag.ui")

st.set_page_config(page_title="verirag", page_icon=":material/menu_book:", layout="wide")
rt = runtime()
who = signed_in(rt)
write_cookie(int(rt.resources.settings.session_minutes * 60))
if who is None:
    st.navigation([st.Page(lambda: login_page(rt), title=tr("Sign in"),
                           icon=":material/login:", url_path="sign-in")]).run()
    st.stop()

names = who.packs(rt.resources.pack_names())
if not names:
    with st.sidebar:
        language_picker()
        account_box(rt, who, "")
    st.warning(tr("{name} holds no role on any pack yet; ask an administrator "
                  "(`verirag users grant {name} PACK viewer`).", name=who.name),
               icon=":material/lock:")
    st.stop()
if st.session_state.get(PACK_KEY) not in names:
    wanted = st.query_params.get("pack")
    st.session_state[PACK_KEY] = wanted if wanted in names else names[0]
pack_name = st.session_state[PACK_KEY]
page = st.navigation(discover_pages(who, pack_name))
with st.sidebar:
    language_picker()
    lang = language()  # bound now: a format function may be called outside this run
    st.session_state[PACK_WIDGET] = pack_name
    st.selectbox(tr("Domain pack"), names, key=PACK_WIDGET, on_change=choose_pack,
                 format_func=lambda n: rt.resources.pack(n).title_for(lang),
                 help=tr("Every page works on this pack's knowledge base."))
    st.caption(rt.resources.pack(pack_name).description_for(lang))
    account_box(rt, who, pack_name)
st.query_params["pack"] = pack_name

try:
    page.run()
except VeriragError as exc:  # what the page did not handle itself: still one line
    st.error(str(exc), icon=":material/error:")
except Exception as exc:  # a bug: one line here, the traceback in the server log
    log.exception("page %s failed", page.title)
    st.error(tr("Something went wrong ({kind}: {error}); the details are in the server log.",
                kind=type(exc).__name__, error=exc), icon=":material/error:")
