"""Reading JSON Lines, once for every format we read (evaluation sets, training data).

JSON Lines separates records by ``\\n`` alone. ``str.splitlines`` also splits on U+2028,
U+2029, U+0085 and other separators, which ``json.dumps(..., ensure_ascii=False)`` leaves raw
inside strings: a valid file would be cut mid-record. So records are split on ``\\n`` (a
trailing ``\\r`` is dropped, for files saved on Windows) and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from verirag.errors import VeriragError


def read_objects(path: Path, error: type[VeriragError] = VeriragError,
                 ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; anything else raises ``error`` naming
    the file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(f"{path}: file not found") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text ({exc.reason}); re-save it as UTF-8") from exc
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from exc
    for number, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{number}: not valid JSON ({exc.msg} at column "
                        f"{exc.colno})") from exc
        if not isinstance(obj, dict):
            raise error(f"{path}:{number}: expected a JSON object, got {type(obj).__name__}")
        yield number, obj
