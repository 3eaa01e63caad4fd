"""Chou–Orlandi base OT and IKNP OT extension: correctness and rejection of bad messages."""

from __future__ import annotations

import nacl.bindings as sodium
import numpy as np
import pytest

from chaihuo.crypto._errors import InvalidCryptoInputError, InvalidPointError
from chaihuo.crypto._random import random_bits_array, random_uint64
from chaihuo.crypto.gc import (
    KAPPA,
    BaseOTReceiver,
    BaseOTSender,
    OTExtensionReceiver,
    OTExtensionSender,
    transpose_bit_matrix,
)

_IDENTITY = b"\x01" + bytes(31)
_ORDER_TWO = bytes.fromhex("ec" + "ff" * 30 + "7f")  # (0, −1), a small-order point
_NON_CANONICAL = (2**255 - 19 + 1).to_bytes(32, "little")  # y ≥ p


def _valid_point() -> bytes:
    point: bytes = sodium.crypto_scalarmult_ed25519_base_noclamp((12345).to_bytes(32, "little"))
    return point


def _mixed_order_point() -> bytes:
    point: bytes = sodium.crypto_core_ed25519_add(_valid_point(), _ORDER_TWO)
    return point


_BAD_POINTS = [
    _IDENTITY,
    _ORDER_TWO,
    _NON_CANONICAL,
    _mixed_order_point(),
    b"\x00" * 32,
    _valid_point()[:31],
    _valid_point() + b"\x00",
]


def _base_ot(choices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sender = BaseOTSender(len(choices))
    receiver = BaseOTReceiver(choices)
    response = receiver.respond(sender.first_message())
    assert len(response) == 32 * len(choices)
    return sender.finish(response), receiver.keys


# -- base OT ---------------------------------------------------------------------------------


def test_base_ot_receiver_gets_exactly_the_chosen_key() -> None:
    choices = np.array([0, 1, 1, 0, 1, 0, 0, 1] * 4, dtype=np.uint8)
    sender_keys, receiver_keys = _base_ot(choices)
    assert sender_keys.shape == (32, 2, 16)
    assert receiver_keys.shape == (32, 16)
    rows = np.arange(len(choices))
    assert np.array_equal(receiver_keys, sender_keys[rows, choices])
    other = sender_keys[rows, 1 - choices]
    assert not (other == receiver_keys).all(axis=1).any()
    assert len({key.tobytes() for key in sender_keys.reshape(-1, 16)}) == 64  # all distinct


def test_base_ot_runs_are_independent() -> None:
    choices = np.zeros(4, dtype=np.uint8)
    first, _ = _base_ot(choices)
    second, _ = _base_ot(choices)
    assert not (first == second).all(axis=2).any()


@pytest.mark.parametrize("point", _BAD_POINTS)
def test_receiver_rejects_bad_sender_point(point: bytes) -> None:
    with pytest.raises(InvalidPointError):
        BaseOTReceiver(np.array([0, 1], dtype=np.uint8)).respond(point)


@pytest.mark.parametrize("point", _BAD_POINTS[:5])
def test_sender_rejects_bad_receiver_point(point: bytes) -> None:
    sender = BaseOTSender(3)
    response = BaseOTReceiver(np.array([0, 1, 0], dtype=np.uint8)).respond(sender.first_message())
    tampered = response[:32] + point + response[64:]
    with pytest.raises(InvalidPointError, match="receiver point 1"):
        sender.finish(tampered)


def test_sender_rejects_its_own_point_echoed() -> None:
    sender = BaseOTSender(1)
    with pytest.raises(InvalidPointError, match="equals"):
        sender.finish(sender.first_message())


def test_base_ot_rejects_wrong_sizes_and_reuse() -> None:
    with pytest.raises(InvalidCryptoInputError):
        BaseOTSender(0)
    with pytest.raises(InvalidCryptoInputError):
        BaseOTReceiver(np.zeros(0, dtype=np.uint8))
    with pytest.raises(InvalidCryptoInputError):
        BaseOTReceiver(np.array([0, 2]))
    with pytest.raises(InvalidCryptoInputError):
        BaseOTReceiver(np.zeros((2, 2), dtype=np.uint8))
    sender = BaseOTSender(2)
    receiver = BaseOTReceiver(np.array([1, 0], dtype=np.uint8))
    with pytest.raises(InvalidCryptoInputError, match="after respond"):
        _ = receiver.keys
    response = receiver.respond(sender.first_message())
    with pytest.raises(InvalidCryptoInputError, match="already responded"):
        receiver.respond(sender.first_message())
    with pytest.raises(InvalidCryptoInputError, match="64 bytes"):
        sender.finish(response[:-1])
    sender.finish(response)
    with pytest.raises(InvalidCryptoInputError, match="already finished"):
        sender.finish(response)


# -- IKNP extension --------------------------------------------------------------------------


def _extension(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    choices = random_bits_array(count)
    messages = random_uint64((count, 2, 2))
    receiver = OTExtensionReceiver(choices)
    sender = OTExtensionSender()
    response = sender.base_ot_response(receiver.base_ot_setup())
    u = receiver.extend(response)
    assert len(u) == KAPPA * ((count + 7) // 8)
    ciphertexts = sender.send(u, messages)
    received = receiver.receive(ciphertexts)
    return choices, messages, received, len(ciphertexts)


@pytest.mark.parametrize("count", [1, 7, 128, 1000, 4096])
def test_iknp_transfers_the_chosen_messages(count: int) -> None:
    choices, messages, received, sent = _extension(count)
    rows = np.arange(count)
    assert received.shape == (count, 2)
    assert received.dtype == np.uint64
    assert np.array_equal(received, messages[rows, choices])
    assert not (received == messages[rows, 1 - choices]).all(axis=1).any()
    assert sent == count * 32


def test_iknp_rejects_wrong_sizes() -> None:
    receiver = OTExtensionReceiver(np.array([1, 0, 1], dtype=np.uint8))
    sender = OTExtensionSender()
    with pytest.raises(InvalidCryptoInputError, match="extend"):
        receiver.receive(bytes(96))
    response = sender.base_ot_response(receiver.base_ot_setup())
    with pytest.raises(InvalidCryptoInputError):
        receiver.extend(response[:-32])
    receiver = OTExtensionReceiver(np.array([1, 0, 1], dtype=np.uint8))
    sender = OTExtensionSender()
    u = receiver.extend(sender.base_ot_response(receiver.base_ot_setup()))
    with pytest.raises(InvalidCryptoInputError, match="already extended"):
        receiver.extend(b"")
    messages = random_uint64((3, 2, 2))
    with pytest.raises(InvalidCryptoInputError, match="u must be"):
        sender.send(u[:-1], messages)
    with pytest.raises(InvalidCryptoInputError, match="u must be"):
        sender.send(u, random_uint64((9, 2, 2)))
    with pytest.raises(InvalidCryptoInputError, match="messages"):
        sender.send(u, messages.astype(np.int64))
    with pytest.raises(InvalidCryptoInputError, match="messages"):
        sender.send(u, random_uint64((3, 2)))
    ciphertexts = sender.send(u, messages)
    with pytest.raises(InvalidCryptoInputError, match="already sent"):
        sender.send(u, messages)
    with pytest.raises(InvalidCryptoInputError):
        receiver.receive(ciphertexts[:-1])
    assert receiver.receive(ciphertexts).shape == (3, 2)
    with pytest.raises(InvalidCryptoInputError):
        OTExtensionReceiver(np.zeros(0, dtype=np.uint8))


def test_iknp_rejects_bad_base_ot_points() -> None:
    receiver = OTExtensionReceiver(np.array([1, 0], dtype=np.uint8))
    with pytest.raises(InvalidPointError):
        OTExtensionSender().base_ot_response(_IDENTITY)
    with pytest.raises(InvalidPointError):
        receiver.extend(_ORDER_TWO * KAPPA)


@pytest.mark.parametrize(("rows", "columns"), [(128, 1), (128, 13), (16, 4096), (3, 70000)])
def test_transpose_bit_matrix(rows: int, columns: int) -> None:
    bits = random_bits_array(rows * columns).reshape(rows, columns)
    packed = np.packbits(bits, axis=1, bitorder="little")
    transposed = transpose_bit_matrix(packed, columns)
    assert transposed.shape == (columns, (rows + 7) // 8)
    unpacked = np.unpackbits(transposed, axis=1, count=rows, bitorder="little")
    assert np.array_equal(unpacked, bits.T)


def test_transpose_rejects_bad_shape() -> None:
    with pytest.raises(InvalidCryptoInputError):
        transpose_bit_matrix(np.zeros((4, 3), dtype=np.uint8), 8)
    with pytest.raises(InvalidCryptoInputError):
        transpose_bit_matrix(np.zeros((4, 1), dtype=np.int64), 8)
