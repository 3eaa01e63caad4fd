"""Shamir t-of-n sharing: any t shares recover the secret, fewer or mixed shares do not."""

from __future__ import annotations

import itertools
import secrets

import pytest

from chaihuo.crypto import CryptoError
from chaihuo.crypto.sharing import SHAMIR_PRIME, SHARE_BYTES, shamir_combine, shamir_split


@pytest.mark.parametrize(("threshold", "holders"), [(1, 1), (2, 3), (3, 5), (4, 7)])
def test_every_threshold_subset_recovers_the_secret(threshold: int, holders: int) -> None:
    secret = secrets.token_bytes(32)
    shares = shamir_split(secret, threshold, holders)
    assert all(len(share) == SHARE_BYTES for share in shares)
    for subset in itertools.combinations(range(holders), threshold):
        picked = {x + 1: shares[x] for x in subset}
        assert shamir_combine(picked, threshold, 32) == secret


def test_fewer_than_threshold_shares_are_refused() -> None:
    shares = shamir_split(b"k" * 32, 3, 5)
    with pytest.raises(CryptoError, match="needs 3 shares"):
        shamir_combine({1: shares[0], 2: shares[1]}, 3, 32)


def test_t_minus_one_shares_with_a_forged_one_do_not_give_the_secret() -> None:
    secret = secrets.token_bytes(32)
    shares = shamir_split(secret, 3, 5)
    forged = {1: shares[0], 2: shares[1], 3: secrets.randbelow(SHAMIR_PRIME).to_bytes(66, "big")}
    # A random third point interpolates to a random field element: far above 2^256.
    with pytest.raises(CryptoError, match="do not interpolate"):
        shamir_combine(forged, 3, 32)


def test_shares_of_two_secrets_do_not_mix() -> None:
    first, second = shamir_split(b"a" * 32, 2, 3), shamir_split(b"b" * 32, 2, 3)
    with pytest.raises(CryptoError):
        shamir_combine({1: first[0], 2: second[1]}, 2, 32)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(CryptoError, match="at most 64 bytes"):
        shamir_split(bytes(65), 2, 3)
    with pytest.raises(CryptoError, match="threshold"):
        shamir_split(bytes(32), 4, 3)
    with pytest.raises(CryptoError, match="outside the field"):
        shamir_combine({1: b"\xff" * 66, 2: b"\x00" * 66}, 2, 32)
    with pytest.raises(CryptoError, match="not a 66-byte share"):
        shamir_combine({1: b"\x00" * 65, 2: b"\x00" * 66}, 2, 32)
