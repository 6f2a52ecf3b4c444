"""``verirag users key``: API keys for the HTTP API, one or more per user.

A key is printed once, when it is made; only its hash is stored. Requests made with it act as
its user with the user's roles at that moment, and are audited under the user's name.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.auth.keys import parse_duration
from app.cli.context import runtime
from app.cli.users_cmd import cli_actor

console = Console()
keys_app = typer.Typer(name="key", help="API keys for `verirag api` (shown once, stored hashed).",
                       no_args_is_help=True)


@keys_app.command("add")
def key_add(ctx: typer.Context,
            name: Annotated[str, typer.Argument(help="The user the key acts as.")],
            expires: Annotated[str | None, typer.Option(
                help="Expire after this long, e.g. 90d, 12h, 30m (default: never).")] = None,
            label: Annotated[str, typer.Option(help="What the key is for, e.g. 'Open WebUI'.")
                             ] = "") -> None:
    """Create an API key for a user and print it (the only time it is shown)."""
    key, info = runtime(ctx).keys.create(
        name, actor=cli_actor(), label=label,
        expires_in=parse_duration(expires) if expires else None)
    until = f", expires {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at else ""
    console.print(f"API key for {escape(name)}{until} — copy it now, it is not shown again:",
                  highlight=False)
    print(key)


@keys_app.command("list")
def key_list(ctx: typer.Context,
             name: Annotated[str | None, typer.Argument(help="Only this user's keys.")] = None,
             ) -> None:
    """API keys (prefix, user, state, dates); never the keys themselves."""
    table = Table("key", "user", "label", "state", "created", "expires", "last used")
    for k in runtime(ctx).keys.list(name):
        table.add_row(f"vr-{k.prefix}-…", escape(k.user), escape(k.label), k.state,
                      f"{k.created_at:%Y-%m-%d %H:%M}",
                      f"{k.expires_at:%Y-%m-%d %H:%M}" if k.expires_at else "never",
                      f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "—")
    console.print(table)


@keys_app.command("revoke")
def key_revoke(ctx: typer.Context,
               key: Annotated[str, typer.Argument(help="The key's prefix (from `key list`).")],
               ) -> None:
    """Revoke an API key: the next request made with it gets 401."""
    info = runtime(ctx).keys.revoke(key, actor=cli_actor())
    console.print(f"revoked vr-{info.prefix}-… of {escape(info.user)}", highlight=False)
