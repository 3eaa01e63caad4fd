"""Per-organisation CAs: which CA must have issued each partner's certificate (issuer pinning)."""

# With one federation CA, a certificate's common name is enough to know the party. When each
# organisation runs its own CA, a node trusts several roots, and any of them could sign a
# certificate naming any party: organisation A's CA could issue "CN=10000" and speak for B.
# Pinning closes that: a partner listed here is accepted (as a client of our server, and as
# the server our channels reach) only with a certificate its own CA signed directly.

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from chaihuo.core import ConfigError
from chaihuo.federation._interface import PermissionDeniedError

__all__ = ["IssuerPins"]


class IssuerPins:
    """Party id → the CA certificate (PEM) that must have issued that party's certificate."""

    def __init__(self, pins: Mapping[str, bytes]) -> None:
        self.pem = dict(pins)
        for party, pem in self.pem.items():
            try:
                ca = x509.load_pem_x509_certificate(pem)
            except ValueError as exc:
                raise ConfigError(
                    f"the CA pinned for party {party} is not a PEM certificate"
                ) from exc
            constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
            if not constraints.ca:
                raise ConfigError(f"the certificate pinned for party {party} is not a CA")

    @classmethod
    def from_files(cls, files: Mapping[str, Path]) -> IssuerPins:
        """Read each pinned CA file; an unreadable one is a ConfigError naming it."""
        pins = {}
        for party, path in files.items():
            try:
                pins[party] = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read the CA pinned for party {party}: {exc}") from exc
        return cls(pins)

    def __bool__(self) -> bool:
        return bool(self.pem)

    def roots(self, party: str, default: bytes) -> bytes:
        """Trust roots of a channel to `party`: its pinned CA alone, or `default`."""
        return self.pem.get(party, default)

    def server_roots(self, own: bytes) -> bytes:
        """Every root the server accepts client certificates from: `own` plus each pinned CA."""
        extra = [pem for pem in dict.fromkeys(self.pem.values()) if pem.strip() not in own]
        return b"\n".join([own.rstrip(), *(pem.strip() for pem in extra)]) + b"\n"

    def check(self, party: str, certificate_pem: bytes) -> None:
        """Refuse a certificate naming a pinned party that its pinned CA did not sign."""
        if party in self.pem and not self._signed(party, certificate_pem):
            raise PermissionDeniedError(
                f"the certificate naming party {party} was not issued by that party's CA",
                certificate_party=party,
            )

    def _signed(self, party: str, certificate_pem: bytes) -> bool:
        return _verified(certificate_pem, self.pem[party])


@functools.lru_cache(maxsize=1024)
def _verified(certificate_pem: bytes, ca_pem: bytes) -> bool:
    """Whether the CA signed the certificate; cached since every RPC presents the same one."""
    ca = x509.load_pem_x509_certificate(ca_pem)
    try:
        x509.load_pem_x509_certificate(certificate_pem).verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
