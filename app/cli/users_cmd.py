"""``verirag users`` and ``verirag audit``: who may use which pack, and what they did.

Whoever runs the CLI holds the data directory, so the CLI itself is not logged in; its changes
are audited under ``cli:<operating-system user>``.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from app.audit import FORMATS, write_entries
from app.auth.principal import ALL_PACKS, ROLES
from app.cli.context import runtime
from verirag.errors import VeriragError

console = Console()
users_app = typer.Typer(help="Users and their roles per pack (viewer, editor, admin).",
                        no_args_is_help=True)
audit_app = typer.Typer(help="The audit log: answers, logins, uploads, deletes, role changes.",
                        no_args_is_help=True)

NameArg = Annotated[str, typer.Argument(help="User name (letters, digits, _ . @ -).")]


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli"


def _password(given: str | None) -> str:
    """From --password-stdin's line, else an interactive prompt typed twice."""
    if given is not None:
        return given
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


def _stdin_password(flag: bool) -> str | None:
    return sys.stdin.readline().rstrip("\n") if flag else None


@users_app.command("add")
def users_add(ctx: typer.Context, name: NameArg,
              admin: Annotated[bool, typer.Option(
                  "--admin", help="Make the user admin of every pack (the first admin).")] = False,
              password_stdin: Annotated[bool, typer.Option(
                  "--password-stdin", help="Read the password from standard input.")] = False,
              ) -> None:
    """Create a user (asks for the password)."""
    rt = runtime(ctx)
    rt.users.add(name, _password(_stdin_password(password_stdin)), actor=cli_actor())
    if admin:
        rt.users.grant(name, ALL_PACKS, "admin", actor=cli_actor())
    console.print(f"added {name}" + (" (admin of every pack)" if admin else ""))


@users_app.command("passwd")
def users_passwd(ctx: typer.Context, name: NameArg,
                 password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
                 ) -> None:
    """Set a user's password."""
    runtime(ctx).users.set_password(name, _password(_stdin_password(password_stdin)),
                                 actor=cli_actor())
    console.print(f"password of {name} changed")


@users_app.command("remove")
def users_remove(ctx: typer.Context, name: NameArg) -> None:
    """Delete a user and their roles (their audit records stay)."""
    runtime(ctx).users.remove(name, actor=cli_actor())
    console.print(f"removed {name}")


@users_app.command("grant")
def users_grant(ctx: typer.Context, name: NameArg,
                pack: Annotated[str, typer.Argument(help="Pack name, or '*' for every pack.")],
                role: Annotated[str, typer.Argument(help=f"One of: {', '.join(ROLES)}.")],
                clearance: Annotated[list[str] | None, typer.Option(
                    "--clearance", help="A document label this user may read (repeatable).")
                ] = None) -> None:
    """Give a user a role on a pack (replacing an earlier one), with optional clearances."""
    rt = runtime(ctx)
    known = rt.resources.pack_names()
    if pack != ALL_PACKS and pack not in known:
        raise VeriragError(f"no pack '{pack}'; packs: {', '.join(known)} or '*'")
    rt.users.grant(name, pack, role, clearance or [], actor=cli_actor())
    cleared = f", cleared for {', '.join(clearance)}" if clearance else ""
    console.print(f"{name} is {role} of {pack}{cleared}")


@users_app.command("revoke")
def users_revoke(ctx: typer.Context, name: NameArg,
                 pack: Annotated[str, typer.Argument(help="Pack name or '*'.")]) -> None:
    """Take away a user's role on a pack."""
    runtime(ctx).users.revoke(name, pack, actor=cli_actor())
    console.print(f"{name} has no role on {pack} any more")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """Users with their roles and clearances."""
    table = Table("user", "active", "roles", "created")
    for u in runtime(ctx).users.list():
        roles = "; ".join(f"{g.pack}: {g.role}" + (f" [{', '.join(sorted(g.clearance))}]"
                                                   if g.clearance else "") for g in u.grants)
        table.add_row(u.name, "yes" if u.active else "no", escape(roles) or "(none)",
                      u.created_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)


def _when(value: str | None, option: str) -> datetime | None:
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise VeriragError(f"{option} {value!r} is not a date; use e.g. 2026-11-01 or "
                           "2026-11-01T09:30") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@audit_app.command("export")
def audit_export(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option(help="From this date/time (ISO 8601, UTC).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date/time.")] = None,
    fmt: Annotated[str, typer.Option("--format", help=f"One of: {', '.join(FORMATS)}.")
                   ] = "jsonl",
    actor: Annotated[str | None, typer.Option(help="Only this user.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. answer, login.")
                      ] = None,
    pack: Annotated[str | None, typer.Option(help="Only this pack.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write to a file instead of stdout.")] = None,
) -> None:
    """Write audit records oldest first, for review or another system."""
    entries = runtime(ctx).audit.search(since=_when(since, "--since"),
                                        until=_when(until, "--until"), actor=actor,
                                        action=action, pack=pack)
    if out is None:
        write_entries(entries, fmt, sys.stdout)
        return
    with out.open("w", encoding="utf-8", newline="") as fh:
        n = write_entries(entries, fmt, fh)
    Console(stderr=True).print(f"{n} records written to {out}")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the audit log's hash chain: every row unchanged, none removed or slipped in."""
    verdict = runtime(ctx).audit.verify()
    if not verdict.intact:
        Console(stderr=True).print(
            f"[red]error:[/red] audit log broken at row {verdict.broken_at}: {verdict.reason}; "
            f"the {verdict.rows - 1} rows before it are intact", highlight=False)
        raise typer.Exit(1)
    console.print(f"audit log intact: {verdict.rows} rows; newest row hash {verdict.head} "
                  "(keep it elsewhere to detect rows cut from the end)", highlight=False)


def register(app: typer.Typer, *subcommands: typer.Typer) -> None:
    for sub in subcommands:
        users_app.add_typer(sub, name=sub.info.name)
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
