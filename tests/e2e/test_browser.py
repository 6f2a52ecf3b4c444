"""The web app end to end in headless Chromium: upload, ask, see the citation, delete.

A real ``streamlit run`` of the entry script that ``verirag serve`` starts, on a free port,
with its own data directory (a copy of the session's indexed sample packs, as after
``verirag setup``) and no model hub. Playwright drives Debian's Chromium (``/usr/bin/chromium``;
``.ci/run`` installs it) — browsers are never downloaded. Screenshots of every page go to
``$VERIRAG_ARTIFACTS/e2e`` (default ``tests/artifacts/e2e``) for a person to look at.

The question is asked in the legal pack, whose answers are extractive (no generator to load),
about a fact only the uploaded document states.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from app.cli.children import web_app_command
from app.services import Runtime
from evals.service import run_evaluation
from verirag.settings import load_settings

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("VERIRAG_CHROMIUM", "/usr/bin/chromium"))
DOC_NAME = "harbourview-lounge-rules.md"
DOC = ("# Harbourview rooftop lounge rules\n\n"
       "Bookings of the Harbourview rooftop lounge require a deposit of 425 euros, refunded "
       "within 12 days after the event if the lounge is left undamaged.\n\n"
       "## 中文摘要\n\n港景屋顶休息室的预订押金为425欧元，活动结束后12天内退还。\n")
QUESTION = "What deposit does a booking of the Harbourview rooftop lounge require?"
TIMEOUT_MS = 180_000
PASSWORD = "clerk password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until Streamlit answers its health check; a server that exits fails with its log."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"streamlit did not start:\n{log.read_text()[-3000:]}")


def write_report(rt: Runtime, tmp: Path) -> None:
    """One small report so the Evaluation page has something to show (as `verirag eval`)."""
    data = tmp / "lounge-eval"
    data.mkdir()
    corpus = [{"id": "deposit", "title": "Deposit", "text": DOC},
              {"id": "nda", "title": "NDA", "text": "Confidentiality survives three years."}]
    questions = [{"id": "q1", "question": QUESTION, "answer": "425 euros",
                  "gold_ids": ["deposit"]},
                 {"id": "q2", "question": "How long does confidentiality survive?",
                  "answer": "three years", "gold_ids": ["nda"]}]
    for name, rows in (("corpus.jsonl", corpus), ("questions.jsonl", questions)):
        (data / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                 encoding="utf-8")
    run_evaluation(rt.resources, "legal", str(data))  # the legal pack quotes: seconds


@pytest.fixture
def served(runtime: Runtime, tmp_path: Path) -> Iterator[tuple[str, Runtime]]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium fonts-noto-cjk")
    home = tmp_path / "home"
    shutil.copytree(runtime.resources.settings.home, home)
    rt = Runtime(load_settings(home=home), runtime.resources.models)
    rt.users.add("clerk", PASSWORD, actor="test")
    rt.users.grant("clerk", "*", "admin", actor="test")
    write_report(rt, tmp_path)
    port = free_port()
    env = {**os.environ, "VERIRAG_HOME": str(home), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    log = tmp_path / "streamlit.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # the command `verirag serve` runs
            [*web_app_command(port, address="127.0.0.1"), "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, log)
        yield url, rt
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        assert "Traceback" not in log.read_text(errors="replace"), log.read_text()[-3000:]


def settle(page: Page) -> None:
    """Wait until Streamlit has finished the script run (its "running" widget is gone)."""
    page.wait_for_timeout(300)  # a click's rerun starts asynchronously
    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()


def snap(page: Page, path: Path) -> None:
    settle(page)
    page.wait_for_timeout(500)  # expanders and images animate in
    page.screenshot(path=path, full_page=True)


def open_browser(pw: Playwright, height: int) -> tuple[Browser, BrowserContext, Page]:
    """Debian's Chromium, headless, one context (its tabs share the sign-in cookie)."""
    browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                 args=["--no-sandbox", "--disable-dev-shm-usage"])
    context = browser.new_context(viewport={"width": 1440, "height": height}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return browser, context, page


def fill_sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("User name").fill("clerk")
    page.get_by_label("Password", exact=True).fill(PASSWORD)


@pytest.fixture
def shots() -> Path:
    base = Path(os.environ.get("VERIRAG_ARTIFACTS", ROOT / "tests" / "artifacts"))
    out = base / "e2e"
    out.mkdir(parents=True, exist_ok=True)
    return out


def test_upload_ask_cite_delete_in_a_real_browser(served: tuple[str, Runtime],
                                                  shots: Path) -> None:
    url, rt = served
    with sync_playwright() as pw:
        browser, context, page = open_browser(pw, height=1800)
        try:
            # sign in: nothing of the app shows before
            fill_sign_in(page, f"{url}/?pack=legal")
            snap(page, shots / "sign-in.png")
            expect(page.get_by_text("Deploy", exact=True)).to_have_count(0)  # viewer toolbar
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Legal assistant")).to_be_visible()

            # a reload and a new tab stay signed in (the sign-in cookie), on the same pack
            settle(page)
            page.reload()
            expect(page.get_by_role("heading", name="Legal assistant")).to_be_visible()
            tab = context.new_page()
            tab.goto(f"{url}/?pack=legal")
            expect(tab.get_by_role("heading", name="Legal assistant")).to_be_visible()
            tab.close()
            page.get_by_role("link", name="Documents").click()
            expect(page.get_by_role("heading", name="Legal documents")).to_be_visible()

            # upload: the per-file result names the document and says it was indexed
            page.locator("input[type=file]").first.set_input_files(
                files=[{"name": DOC_NAME, "mimeType": "text/markdown",
                        "buffer": DOC.encode("utf-8")}])
            page.get_by_role("button", name="Index 1 file(s) into Legal").click()
            expect(page.get_by_text("1 indexed (0 new versions)")).to_be_visible()
            assert [d.name for d in rt.resources.kb("legal").documents() if d.name == DOC_NAME]
            page.get_by_label("Query").fill("港景屋顶休息室押金")
            page.get_by_label("Query").press("Enter")
            expect(page.get_by_text(f"1. {DOC_NAME}")).to_be_visible()
            snap(page, shots / "documents.png")

            # ask: the answer cites the uploaded document, and the citation opens on its text
            page.get_by_role("link", name="Chat").click()
            expect(page.get_by_role("heading", name="Legal assistant")).to_be_visible()
            page.get_by_placeholder("Ask about your documents").fill(QUESTION)
            page.get_by_placeholder("Ask about your documents").press("Enter")
            citation = page.get_by_text(f"[1] {DOC_NAME}")
            expect(citation).to_be_visible()
            expect(page.get_by_test_id("stChatMessage").last).to_contain_text("425 euros")
            settle(page)
            citation.click()
            expect(page.get_by_test_id("stExpander").filter(has_text=f"[1] {DOC_NAME}")
                   ).to_contain_text("12 days")
            snap(page, shots / "chat.png")
            page.get_by_text("Show it in the document").first.click()
            expect(page.get_by_text("Cited:").first).to_be_visible()
            snap(page, shots / "source.png")

            # evaluation: the report written beforehand, with its table and plots
            page.get_by_role("link", name="Evaluation").click()
            page.get_by_role("tab", name="Reports").click()
            expect(page.get_by_text("Answered correctly").first).to_be_visible()
            snap(page, shots / "evaluation.png")

            # adapters and audit: every page has a picture for a person to judge
            page.get_by_role("link", name="Adapters").click()
            expect(page.get_by_role("heading", name="Legal adapters")).to_be_visible()
            snap(page, shots / "adapters.png")
            page.get_by_role("link", name="Audit").click()
            expect(page.get_by_text(f"uploaded {DOC_NAME}: indexed")).to_be_attached()  # grid
            snap(page, shots / "audit.png")

            # delete: confirm, then the document is gone from the knowledge base
            page.get_by_role("link", name="Documents").click()
            settle(page)
            page.get_by_role("combobox", name="Delete a document").click()
            page.keyboard.type(DOC_NAME)
            page.keyboard.press("Enter")
            page.get_by_role("button", name="Delete…").click()
            page.get_by_role("button", name="Yes, delete").click()
            expect(page.get_by_text(f"Deleted {DOC_NAME}")).to_be_visible()
            snap(page, shots / "documents-after-delete.png")

            # signing out ends the sign-in everywhere: a reload asks to sign in again
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()
            settle(page)
            page.reload()
            expect(page.get_by_role("button", name="Sign in")).to_be_visible()
            assert [k.state for k in rt.keys.list("clerk", kind="web")] == ["revoked"]
        except Exception:
            page.screenshot(path=shots / "failure.png", full_page=True)
            raise
        finally:
            browser.close()
    assert DOC_NAME not in [d.name for d in rt.resources.kb("legal").documents()]


def test_stop_ends_an_answer_being_written_and_records_nothing(served: tuple[str, Runtime],
                                                               shots: Path) -> None:
    """The medical pack generates (the model loads on the first question), so there is time
    to press Stop; the run ends at the next checked sentence, before the turn is stored."""
    url, rt = served
    question = "How many days before a planned procedure should warfarin be stopped?"
    with sync_playwright() as pw:
        browser, _, page = open_browser(pw, height=1400)
        try:
            fill_sign_in(page, f"{url}/?pack=medical")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Medical assistant")).to_be_visible()
            settle(page)
            page.get_by_placeholder("Ask about your documents").fill(question)
            page.get_by_placeholder("Ask about your documents").press("Enter")
            # The app's own Stop, not Streamlit's header "Stop" shown while a slow run lasts.
            main = page.get_by_test_id("stMainBlockContainer")
            main.get_by_role("button", name="Stop").click()
            expect(page.get_by_text("Stopped before the answer")).to_be_visible()
            snap(page, shots / "chat-stopped.png")
        except Exception:
            page.screenshot(path=shots / "failure-stop.png", full_page=True)
            raise
        finally:
            browser.close()
    stored = [t.question for s in rt.sessions.list(pack="medical", user="clerk")
              for t in rt.sessions.turns(s.id)]
    assert question not in stored, "nothing of the stopped answer was recorded"
