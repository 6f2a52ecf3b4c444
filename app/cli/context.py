"""The one ``Runtime`` of a CLI command, built on first use through an injectable factory.

Every command takes the click context and asks :func:`runtime` for the Runtime; the first ask
builds it with the context object's factory, later asks in the same command reuse it. Tests
invoke the real app with ``obj=CliContext(factory)`` so the commands share the session's
loaded models instead of loading them again per command.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import typer

from app.services import Runtime

RuntimeFactory = Callable[[], Runtime]


@dataclass
class CliContext:
    factory: RuntimeFactory = Runtime
    _built: list[Runtime] = field(default_factory=list, repr=False)

    def runtime(self) -> Runtime:
        if not self._built:
            self._built.append(self.factory())
        return self._built[0]


def runtime(ctx: typer.Context) -> Runtime:
    """The command's Runtime (built now if this is the first ask)."""
    return ctx.ensure_object(CliContext).runtime()
