"""Federation PKI: a CA, party certificates (CN = party id) as PEM files, and a serial denylist."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chaihuo.core import ConfigError, PartyId, parse_party_id

__all__ = [
    "CA_CERT",
    "CA_KEY",
    "CaFiles",
    "KeyType",
    "PartyCertFiles",
    "certificate_party_id",
    "certificate_serial",
    "init_ca",
    "issue_party_cert",
    "party_server_name",
    "revoke",
]

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
KeyType = Literal["ec", "rsa"]
_SKEW = dt.timedelta(minutes=5)  # tolerate clocks a little behind the issuer's


@dataclass(frozen=True, slots=True)
class CaFiles:
    """Where a federation CA lives: its certificate (shared) and key (0600, kept offline)."""

    cert: Path
    key: Path


@dataclass(frozen=True, slots=True)
class PartyCertFiles:
    """One party's TLS identity: certificate, key (0600) and the CA certificate it trusts."""

    party_id: PartyId
    cert: Path
    key: Path
    ca_cert: Path
    serial: int


def party_server_name(party_id: str) -> str:
    """The DNS SAN naming a party: clients verify the server is the party they meant to reach.

    `.invalid` (RFC 2606) never resolves, so the name only ever serves identity checks.
    """
    return f"{party_id.lower()}.party.chaihuo.invalid"


def _new_key(key_type: KeyType) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise ConfigError(f"key type must be 'ec' (P-256) or 'rsa' (3072 bits), not {key_type!r}")


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
        os.write(fd, data)
    finally:
        os.close(fd)


def _write_public(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)


def _validity(valid_from: dt.datetime | None, valid_days: float) -> tuple[dt.datetime, dt.datetime]:
    start = valid_from or dt.datetime.now(dt.UTC) - _SKEW
    end = start + dt.timedelta(days=valid_days)
    if end <= start:
        raise ConfigError("certificate validity must be positive", valid_days=valid_days)
    return start, end


def init_ca(
    directory: str | os.PathLike[str],
    *,
    common_name: str = "chaihuo federation CA",
    valid_days: float = 3650,
    key_type: KeyType = "ec",
    overwrite: bool = False,
) -> CaFiles:
    """Create a federation CA in `directory`: `ca.pem` (self-signed) and `ca-key.pem` (0600)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    files = CaFiles(root / CA_CERT, root / CA_KEY)
    existing = [str(path) for path in (files.cert, files.key) if path.exists()]
    if existing and not overwrite:
        raise ConfigError(
            f"a CA already exists in {root} ({', '.join(existing)}); "
            "use --overwrite (overwrite=True) to replace it"
        )
    key = _new_key(key_type)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    start, end = _validity(None, valid_days)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(files.key, key)
    _write_public(files.cert, cert)
    return files


def _usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not ca,
        content_commitment=False,
        key_encipherment=not ca,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _load_ca(
    ca_directory: Path,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey]:
    try:
        cert = x509.load_pem_x509_certificate((ca_directory / CA_CERT).read_bytes())
        key = serialization.load_pem_private_key((ca_directory / CA_KEY).read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load the CA from {ca_directory}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError(f"CA key in {ca_directory} must be ECDSA or RSA")
    return cert, key


def _subject_alt_names(party_id: str, hosts: Sequence[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [x509.DNSName(party_server_name(party_id))]
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _party_builder(
    ca_cert: x509.Certificate,
    party_id: str,
    hosts: Sequence[str],
    start: dt.datetime,
    end: dt.datetime,
) -> x509.CertificateBuilder:
    """Everything of a party certificate but its public key and signature."""
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "chaihuo"),
            x509.NameAttribute(NameOID.COMMON_NAME, party_id),
        ]
    )
    both_ends = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(both_ends), critical=False)
        .add_extension(_subject_alt_names(party_id, hosts), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
    )


def issue_party_cert(
    ca_directory: str | os.PathLike[str],
    party_id: str | int,
    out_directory: str | os.PathLike[str],
    *,
    hosts: Sequence[str] = ("localhost", "127.0.0.1"),
    valid_days: float = 365,
    valid_from: dt.datetime | None = None,
    key_type: KeyType = "ec",
    overwrite: bool = False,
) -> PartyCertFiles:
    """Issue `<party>.pem` + `<party>-key.pem` (0600) signed by the CA, and copy `ca.pem` along.

    The certificate serves both ends of mutual TLS: CN = party id (the identity the server
    matches against the envelope's sender, R10), SANs = `hosts` plus party_server_name().
    `valid_from`/`valid_days` may describe an already expired certificate (for tests).
    An existing certificate or key of the party, or a `ca.pem` of another CA, in
    `out_directory` is a ConfigError unless `overwrite`: a key is never replaced silently.
    """
    pid = parse_party_id(party_id)
    ca_root, out = Path(ca_directory), Path(out_directory)
    ca_cert, ca_key = _load_ca(ca_root)
    if not overwrite:
        _refuse_existing(pid, out, ca_cert)
    key = _new_key(key_type)
    builder = _party_builder(ca_cert, pid, hosts, *_validity(valid_from, valid_days))
    cert = builder.public_key(key.public_key()).sign(ca_key, hashes.SHA256())
    out.mkdir(parents=True, exist_ok=True)
    files = PartyCertFiles(
        pid, out / f"{pid}.pem", out / f"{pid}-key.pem", out / CA_CERT, cert.serial_number
    )
    _write_private(files.key, key)
    _write_public(files.cert, cert)
    if files.ca_cert.resolve() != (ca_root / CA_CERT).resolve():
        _write_public(files.ca_cert, ca_cert)
    return files


def _refuse_existing(party_id: PartyId, out: Path, ca_cert: x509.Certificate) -> None:
    """A ConfigError naming the party's key and certificate, or a foreign `ca.pem`, in `out`."""
    existing = [
        path for path in (out / f"{party_id}.pem", out / f"{party_id}-key.pem") if path.exists()
    ]
    ca_copy = out / CA_CERT
    if ca_copy.exists() and not _same_certificate(ca_copy, ca_cert):
        existing.append(ca_copy)  # another CA's certificate: replacing it changes what is trusted
    if existing:
        names = ", ".join(str(path) for path in existing)
        raise ConfigError(
            f"{out} already holds {names} (party {party_id}); "
            "use --overwrite (overwrite=True) to replace them"
        )


def _same_certificate(path: Path, cert: x509.Certificate) -> bool:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes()) == cert
    except (OSError, ValueError):
        return False


def _load_cert(source: str | os.PathLike[str] | bytes) -> x509.Certificate:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ConfigError(f"not a PEM certificate: {exc}") from exc


def certificate_serial(source: str | os.PathLike[str] | bytes) -> int:
    """Serial number of a PEM certificate (file path or PEM bytes)."""
    return _load_cert(source).serial_number


def certificate_party_id(source: str | os.PathLike[str] | bytes) -> str:
    """The party id a PEM certificate names (its subject CN)."""
    names = _load_cert(source).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if len(names) != 1:
        raise ConfigError("a party certificate has exactly one common name")
    value = names[0].value
    return value if isinstance(value, str) else value.decode()


def revoke(denylist: str | os.PathLike[str], certificate: str | os.PathLike[str] | int) -> int:
    """Append a certificate's serial (or a serial number) to a denylist file; returns it."""
    serial = certificate if isinstance(certificate, int) else certificate_serial(certificate)
    with Path(denylist).open("a", encoding="ascii") as handle:
        handle.write(f"{serial:x}\n")
    return serial
