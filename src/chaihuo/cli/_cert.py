"""`chaihuo cert`: make a federation CA, issue and revoke party certificates for mutual TLS."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from chaihuo.federation import init_ca, issue_party_cert, revoke

__all__ = ["cert_app"]

cert_app = typer.Typer(help="Certificates for mutual TLS between parties.", no_args_is_help=True)


@cert_app.command("init-ca")
def init_ca_command(
    directory: Path = typer.Option(Path("pki/ca"), help="Where ca.pem and ca-key.pem go."),
    valid_days: float = typer.Option(3650, min=1, help="CA certificate lifetime."),
    overwrite: bool = typer.Option(False, help="Replace an existing CA."),
) -> None:
    """Create the federation CA (self-signed; its key file is 0600)."""
    files = init_ca(directory, valid_days=valid_days, overwrite=overwrite)
    Console().print(f"CA certificate: {files.cert}\nCA key:         {files.key}")


@cert_app.command("issue")
def issue_command(
    *,
    party: str = typer.Option(..., help="Party id; becomes the certificate's CN."),
    ca: Path = typer.Option(Path("pki/ca"), help="Directory of the federation CA."),
    out: Path | None = typer.Option(None, help="Output directory (default pki/<party>)."),
    host: list[str] = typer.Option(
        ["localhost", "127.0.0.1"], help="DNS names / IPs the party's node answers on."
    ),
    valid_days: float = typer.Option(365, min=1, help="Certificate lifetime."),
    overwrite: bool = typer.Option(
        False, help="Replace the party's existing certificate and key in the output directory."
    ),
) -> None:
    """Issue a party certificate and key signed by the CA (with a copy of the CA certificate).

    An existing certificate or key of the party is kept and the command fails, unless
    --overwrite.
    """
    target = out or ca.parent / party
    files = issue_party_cert(
        ca, party, target, hosts=tuple(host), valid_days=valid_days, overwrite=overwrite
    )
    Console().print(
        f"certificate: {files.cert}\nkey:         {files.key}\nCA:          {files.ca_cert}"
    )


@cert_app.command("revoke")
def revoke_command(
    certificate: Path = typer.Argument(..., help="The party certificate to revoke."),
    denylist: Path = typer.Option(Path("pki/denylist.txt"), help="Denylist file nodes re-read."),
) -> None:
    """Add a certificate's serial to the denylist (nodes refuse it within a minute)."""
    serial = revoke(denylist, certificate)
    Console().print(f"revoked serial {serial:x} in {denylist}")
