"""`chaihuo user`: a node's users and their API tokens (admin), and `whoami`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from chaihuo.cli._node_client import JsonOption, TokenOption, UrlOption, connect, print_json, when

__all__ = ["user_app"]

user_app = typer.Typer(help="Users and API tokens of a node (admin).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens: create, list, revoke.", no_args_is_help=True)
user_app.add_typer(token_app, name="token")

UserArg = Annotated[str, typer.Argument(help="The user's name.", show_default=False)]


@user_app.command("whoami")
def whoami_command(url: UrlOption = None, token: TokenOption = None) -> None:
    """The user the token belongs to."""
    with connect(url, token) as client:
        me = client.me()
    typer.echo(f"{me.name}{' (admin)' if me.admin else ''}")


@user_app.command("create")
def create_command(
    name: UserArg,
    admin: Annotated[bool, typer.Option("--admin", help="May manage users and tokens.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Add a user to the node."""
    with connect(url, token) as client:
        user = client.create_user(name, admin=admin)
    typer.echo(f"created user {user.name}{' (admin)' if user.admin else ''}")


@user_app.command("list")
def list_command(
    url: UrlOption = None, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """The node's users."""
    with connect(url, token) as client:
        users = client.list_users()
    if as_json:
        print_json(users)
        return
    table = Table("user", "admin", "created", title="users")
    for user in users:
        table.add_row(user.name, "yes" if user.admin else "", when(user.created_at))
    Console().print(table)


@user_app.command("delete")
def delete_command(
    name: UserArg,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask.")] = False,
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Remove a user and every token of theirs."""
    if not yes:
        typer.confirm(f"delete user {name} and its tokens?", abort=True)
    with connect(url, token) as client:
        client.delete_user(name)
    typer.echo(f"deleted user {name}")


@token_app.command("create")
def token_create_command(
    user: UserArg,
    *,
    expires_in: Annotated[
        int, typer.Option("--expires-in", min=60, help="Lifetime in seconds (default 30 days).")
    ] = 30 * 86_400,
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """A new token for USER, printed once (the node keeps only its hash)."""
    with connect(url, token) as client:
        created = client.create_token(user, expires_in_s=expires_in, label=label)
    if as_json:
        print_json(created)
        return
    Console(stderr=True).print(
        f"token {created.token.token_id} for {created.token.user}, expires "
        f"{when(created.token.expires_at)}; shown only now:"
    )
    typer.echo(created.secret)


@token_app.command("list")
def token_list_command(
    user: Annotated[str | None, typer.Option("--user", help="Only this user's tokens.")] = None,
    url: UrlOption = None,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Token records (never the secrets)."""
    with connect(url, token) as client:
        tokens = client.list_tokens(user)
    if as_json:
        print_json(tokens)
        return
    table = Table("token", "user", "label", "created", "expires", "revoked", title="tokens")
    for item in tokens:
        table.add_row(
            item.token_id,
            item.user,
            escape(item.label),
            when(item.created_at),
            when(item.expires_at),
            when(item.revoked_at),
        )
    Console().print(table)


@token_app.command("revoke")
def token_revoke_command(
    token_id: Annotated[str, typer.Argument(help="The token's id (not its secret).")],
    url: UrlOption = None,
    token: TokenOption = None,
) -> None:
    """Revoke a token now."""
    with connect(url, token) as client:
        revoked = client.revoke_token(token_id)
    typer.echo(f"revoked token {revoked.token_id} of {revoked.user}")
