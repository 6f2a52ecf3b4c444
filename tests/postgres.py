"""A real PostgreSQL server for the tests, started from the machine's own binaries.

``.ci/run`` installs Debian's ``postgresql`` package; this module finds its ``initdb`` and
``pg_ctl``, makes a throw-away cluster in a temp folder, starts it on a Unix socket in that
folder (no TCP port, nothing reachable from outside) and stops it at the end of the session.
PostgreSQL refuses to run as root, so under root the server runs as the ``postgres`` user the
package creates. Where no server binary is installed the tests that need one are skipped with
that reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def find_bin() -> Path | None:
    """The newest installed PostgreSQL bin folder holding ``initdb`` and ``pg_ctl``."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit()
                        else 0)
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class Server:
    root: Path
    socket_dir: Path
    bin: Path
    user: str | None  # the OS user the server runs as (None: ourselves)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket_dir}"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(host=str(self.socket_dir), user="postgres", dbname="postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def start(bin_dir: Path) -> Iterator[Server]:
    """Start a server in a new temp folder and stop it (and remove the folder) at the end."""
    user = "postgres" if os.geteuid() == 0 else None
    # Not under pytest's tmp_path: its parents are private to root, and the server's user
    # must reach its own folder.
    root = Path(tempfile.mkdtemp(prefix="verirag-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if user:
        entry = pwd.getpwnam(user)
        for path in (root, sock):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        root.chmod(0o700)
    server = Server(root, sock, bin_dir, user)
    server._run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                "--locale=C.UTF-8")
    options = f"-c listen_addresses='' -c unix_socket_directories={sock} -c fsync=off"
    server._run("pg_ctl", "-D", str(data), "-o", options, "-w", "-l", str(root / "log"),
                "start")
    try:
        yield server
    finally:
        server._run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
