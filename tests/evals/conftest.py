"""The ``verirag eval`` command on the session's loaded models, for the CLI-level tests."""

from __future__ import annotations

import pytest
import typer

from app.cli.eval_cmd import register
from app.models import ModelRegistry
from app.services import Runtime
from verirag.settings import load_settings


@pytest.fixture
def cli(models: ModelRegistry) -> typer.Typer:
    """A Typer app with only ``eval``, whose runtime shares the session's models."""
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """verirag (test)"""

    register(app, lambda: Runtime(load_settings(), models))
    return app
