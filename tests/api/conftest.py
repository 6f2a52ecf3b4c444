"""A real API server on a localhost port, and keys for real users of its database.

``api`` serves the session's indexed bundled packs (read-only tests: answers, auth, metrics);
``fresh_api`` serves an empty data directory the test may change (uploads, deletes, labels).
Both share the session's loaded models.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from app.api.deps import ApiOptions
from app.api.server import Background, create_app
from app.services import Runtime
from tests.app.signin import ensure_user


@dataclass
class Api:
    url: str
    rt: Runtime

    def key(self, user: str, pack: str = "*", role: str = "admin",
            clearance: tuple[str, ...] = ()) -> str:
        """A new key for ``user``, created with the role given (an earlier grant replaced)."""
        ensure_user(self.rt, user, pack, role, clearance)
        return self.rt.keys.create(user, actor="test")[0]

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=300)


def wait_ready(url: str) -> None:
    deadline = time.monotonic() + 600
    while httpx.get(f"{url}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the API never became ready"
        time.sleep(0.1)


@pytest.fixture(scope="session")
def api(runtime: Runtime) -> Iterator[Api]:
    with Background(create_app(runtime, ApiOptions(workers=2))) as url:
        wait_ready(url)
        yield Api(url, runtime)


@pytest.fixture
def fresh_api(fresh_runtime: Runtime) -> Iterator[Api]:
    with Background(create_app(fresh_runtime, ApiOptions(workers=2, index_bundled=False))
                    ) as url:
        wait_ready(url)
        yield Api(url, fresh_runtime)
