"""Paillier: keys, fixed-point encoding, packing, encrypted vectors and their wire format."""

from chaihuo.crypto.paillier._encoding import FixedPoint, decode_signed, to_residues
from chaihuo.crypto.paillier._kernels import power_products
from chaihuo.crypto.paillier._keys import (
    MIN_KEY_BITS,
    PaillierKeyPair,
    PaillierPrivateKey,
    PaillierPublicKey,
    check_key_bits,
    generate_keypair,
)
from chaihuo.crypto.paillier._multiexp import matrix_power_products
from chaihuo.crypto.paillier._packing import PackedVector, PackingScheme
from chaihuo.crypto.paillier._parallel import (
    MIN_PARALLEL_ITEMS,
    POOL_MIN_CELLS,
    PaillierPool,
    pooled_power_products,
)
from chaihuo.crypto.paillier._vector import EncryptedVector
from chaihuo.crypto.paillier._wire import (
    packed_from_bytes,
    packed_to_bytes,
    vector_from_bytes,
    vector_to_bytes,
)

__all__ = [
    "MIN_KEY_BITS",
    "MIN_PARALLEL_ITEMS",
    "POOL_MIN_CELLS",
    "EncryptedVector",
    "FixedPoint",
    "PackedVector",
    "PackingScheme",
    "PaillierKeyPair",
    "PaillierPool",
    "PaillierPrivateKey",
    "PaillierPublicKey",
    "check_key_bits",
    "decode_signed",
    "generate_keypair",
    "matrix_power_products",
    "packed_from_bytes",
    "packed_to_bytes",
    "pooled_power_products",
    "power_products",
    "to_residues",
    "vector_from_bytes",
    "vector_to_bytes",
]
