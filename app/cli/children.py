"""Running the web app (and the API) as child processes that stop when ``verirag serve`` does.

A service manager stops a service with SIGTERM to its main process; Ctrl-C sends SIGINT to
the terminal's process group. The children run in sessions of their own (``spawn``), so each
gets the signal exactly once, from here — a second SIGINT would make uvicorn skip its
graceful wait — then the API finishes the answers in flight, ``serve`` waits for them and
exits; no child is left holding its port. A child that exits on its own (a crash) stops the
others too, and its failure is ``serve``'s exit status.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
WEB_APP = Path(__file__).resolve().parents[1] / "ui" / "main.py"


def web_app_command(port: int, *, headless: bool = True,
                    address: str | None = None) -> list[str]:
    """The Streamlit command line of the web app: no usage statistics, and the toolbar in
    viewer mode (no Deploy/Stop menu for the people using it)."""
    return [sys.executable, "-m", "streamlit", "run", str(WEB_APP), "--server.port", str(port),
            "--server.headless", str(headless).lower(), "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer",
            *(["--server.address", address] if address else [])]


def _forward(children: list[subprocess.Popen[bytes]], signum: int) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signum)


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child in its own session: only the signals ``run_children`` forwards reach it."""
    return subprocess.Popen(command, env=env, start_new_session=True)


def run_children(children: list[subprocess.Popen[bytes]], poll_s: float = 0.2) -> int:
    """Wait for the children, forwarding SIGTERM/SIGINT; the last child's exit status."""
    stopping: list[int] = []

    def on_signal(signum: int, _: FrameType | None) -> None:
        stopping.append(signum)
        _forward(children, signum)

    previous = {s: signal.signal(s, on_signal) for s in STOP_SIGNALS}
    try:
        while all(child.poll() is None for child in children):
            time.sleep(poll_s)
        if not stopping:  # one child ended by itself: stop the others as if asked to
            _forward(children, signal.SIGTERM)
        for child in children:
            child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if stopping:  # asked to stop: a clean stop unless a child failed on its way out
        return next((c.returncode for c in children if c.returncode > 0), 0)
    # One ended by itself: its failure is the service's (a manager's restart-on-failure).
    first = next((c for c in children if c.returncode not in (0, -signal.SIGTERM)), None)
    if first is None:
        return 0
    return first.returncode if first.returncode > 0 else 128 - first.returncode
