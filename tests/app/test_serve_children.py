"""``verirag serve`` stops cleanly under a service manager: SIGTERM reaches every child."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.cli.children import run_children

GRACEFUL = """
import signal, sys, time, pathlib
def stop(*_):
    time.sleep(0.3)  # finishing what is in flight
    pathlib.Path(sys.argv[1]).write_text("finished")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
print("up", flush=True)
time.sleep(60)
"""


def _child(tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-c", GRACEFUL, str(tmp_path / name)],
                             stdout=subprocess.PIPE, start_new_session=True)  # as spawn()
    assert child.stdout is not None and child.stdout.readline() == b"up\n"
    return child


def test_sigterm_is_forwarded_and_serve_waits_for_its_children(tmp_path: Path) -> None:
    api, web = _child(tmp_path, "api"), _child(tmp_path, "web")
    before = signal.getsignal(signal.SIGTERM)
    threading.Timer(0.2, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    started = time.monotonic()
    assert run_children([api, web]) == 0
    assert time.monotonic() - started < 30
    assert (tmp_path / "api").read_text() == "finished", "the API finished before exiting"
    assert (tmp_path / "web").read_text() == "finished"
    assert signal.getsignal(signal.SIGTERM) == before, "the previous handler is back"


def test_a_child_that_dies_stops_the_other(tmp_path: Path) -> None:
    api = _child(tmp_path, "api")
    web = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert run_children([api, web]) == 3
    assert (tmp_path / "api").read_text() == "finished"


def test_an_api_that_fails_on_its_own_fails_serve(tmp_path: Path) -> None:
    """A service manager's restart-on-failure needs serve to fail when the API did."""
    api = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(2)"])
    web = _child(tmp_path, "web")
    assert run_children([api, web]) == 2
    assert (tmp_path / "web").read_text() == "finished"
