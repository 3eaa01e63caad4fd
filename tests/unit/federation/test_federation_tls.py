"""Federation PKI: CA and party certificates, file modes, identities and revocation."""

from __future__ import annotations

import datetime as dt
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chaihuo.core import ConfigError, InvalidInputError
from chaihuo.federation import (
    certificate_party_id,
    certificate_serial,
    init_ca,
    issue_party_cert,
    party_server_name,
    revoke,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_is_self_signed_with_a_private_key_file(tmp_path: Path) -> None:
    files = init_ca(tmp_path / "ca")
    assert _mode(files.key) == 0o600
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    assert cert.issuer == cert.subject
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
    with pytest.raises(ConfigError, match="already exists"):
        init_ca(tmp_path / "ca")
    init_ca(tmp_path / "ca", overwrite=True)


def test_party_certificate_names_the_party(tmp_path: Path) -> None:
    init_ca(tmp_path / "ca")
    files = issue_party_cert(
        tmp_path / "ca", 9999, tmp_path / "p", hosts=["node.example", "10.0.0.7"]
    )
    assert (files.cert.name, files.key.name) == ("9999.pem", "9999-key.pem")
    assert _mode(files.key) == 0o600
    assert files.ca_cert.read_bytes() == (tmp_path / "ca" / "ca.pem").read_bytes()
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "9999"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"node.example", party_server_name("9999")}
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["10.0.0.7"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usage)
    assert certificate_party_id(files.cert) == "9999"
    assert certificate_serial(files.cert) == files.serial == cert.serial_number


def test_rsa_3072_and_custom_validity(tmp_path: Path) -> None:
    init_ca(tmp_path / "ca", key_type="rsa")
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    files = issue_party_cert(
        tmp_path / "ca", "p-1", tmp_path / "p", key_type="rsa", valid_from=start, valid_days=2
    )
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 3072
    assert cert.not_valid_after_utc == start + dt.timedelta(days=2)  # already expired


def test_bad_inputs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load the CA"):
        issue_party_cert(tmp_path / "nowhere", "9999", tmp_path / "p")
    init_ca(tmp_path / "ca")
    with pytest.raises(InvalidInputError):
        issue_party_cert(tmp_path / "ca", "bad id!", tmp_path / "p")
    with pytest.raises(ConfigError, match="positive"):
        issue_party_cert(tmp_path / "ca", "9999", tmp_path / "p", valid_days=0)
    with pytest.raises(ConfigError, match="key type"):
        init_ca(tmp_path / "ca2", key_type="dsa")  # type: ignore[arg-type]


def test_revoke_appends_serials(tmp_path: Path) -> None:
    init_ca(tmp_path / "ca")
    files = issue_party_cert(tmp_path / "ca", "9999", tmp_path / "p")
    denylist = tmp_path / "deny.txt"
    assert revoke(denylist, files.cert) == files.serial
    revoke(denylist, 0xABC)
    assert denylist.read_text().split() == [f"{files.serial:x}", "abc"]
