"""Crypto-layer benchmark: chaihuo beside python-paillier and plain baselines, one table + JSON."""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from phe import paillier as phe

from _harness import Report, rate
from chaihuo.crypto._random import random_uint64
from chaihuo.crypto.gc import garble, ints_to_bits, millionaires_circuit
from chaihuo.crypto.paillier import (
    EncryptedVector,
    PackedVector,
    PackingScheme,
    PaillierPool,
    generate_keypair,
)
from chaihuo.crypto.psi import hash_to_points, random_scalar, scalar_mult_batch
from chaihuo.crypto.sharing import (
    Shareholder,
    beaver_combine,
    beaver_mask,
    deal_beaver_triples,
    reconstruct,
    share,
)


def paillier_section(report: Report, quick: bool, bits: int) -> None:
    """Paillier metrics against python-paillier (phe) with gmpy2, one core unless stated."""
    budget = 1.0 if quick else 3.0
    values = np.random.default_rng(1).normal(size=256)
    keys = generate_keypair(bits)
    pk, sk = keys.public_key, keys.private_key
    phe_pk, phe_sk = phe.generate_paillier_keypair(n_length=bits)
    pk.precompute()
    EncryptedVector.encrypt(sk, values[:64])  # builds the key holder's CRT tables

    batch = 32
    ours = rate(lambda: len(EncryptedVector.encrypt(pk, values[:batch])), budget)
    ref = rate(lambda: len([phe_pk.encrypt(float(v)) for v in values[:4]]), budget)
    report.add("paillier_encrypt", ours, ref, "phe encrypt (public key)")
    holder = rate(lambda: len(EncryptedVector.encrypt(sk, values[:batch])), budget)
    report.add("paillier_encrypt_keyholder", holder, ref, "phe encrypt (public key)")

    enc = EncryptedVector.encrypt(pk, values)
    enc2 = EncryptedVector.encrypt(pk, values[::-1].copy())
    # One fixed precision, as chaihuo's fixed exponent: phe then adds without re-encoding.
    phe_enc = [phe_pk.encrypt(float(v), precision=2.0**-24) for v in values[:64]]
    ours = rate(lambda: len(enc[:batch].decrypt(sk)), budget)
    ref = rate(lambda: len([phe_sk.decrypt(c) for c in phe_enc[:8]]), budget)
    report.add("paillier_decrypt", ours, ref, "phe decrypt")
    phe_decrypt = ref

    ours = rate(lambda: len(enc + enc2), budget)
    ref = rate(lambda: len([a + b for a, b in zip(phe_enc, phe_enc[::-1], strict=True)]), budget)
    report.add("paillier_add", ours, ref, "phe add (same exponent)")

    scalars = np.frombuffer(os.urandom(8 * 64), dtype=np.int64)
    ours = rate(lambda: len(enc[:64].mul(scalars)), budget)
    ref = rate(lambda: len([c * int(k) for c, k in zip(phe_enc, scalars, strict=True)]), budget)
    report.add("paillier_scalar_mul", ours, ref, "phe scalar mul (64-bit)")

    rows, cols = 1000, 100
    rng = np.random.default_rng(2)
    matrix = rng.normal(size=(rows, cols))
    residual = EncryptedVector.encrypt(pk, rng.normal(size=rows) * 0.1)
    start = time.perf_counter()
    residual.rmatmul(matrix.T, exponent=16)
    ours = rows * cols / (time.perf_counter() - start)
    phe_residual = [
        phe_pk.encrypt(float(v), precision=2.0**-24) for v in rng.normal(size=rows)[:200]
    ]
    ref_cols = 2

    def phe_matvec() -> int:
        for j in range(ref_cols):
            terms = [c * float(x) for c, x in zip(phe_residual, matrix[:200, j], strict=True)]
            total = terms[0]
            for term in terms[1:]:
                total = total + term
        return ref_cols * len(phe_residual)

    ref = rate(phe_matvec, budget)
    report.add("paillier_matvec_cells", ours, ref, f"phe Σ x·[[d]] ({rows}x{cols})")

    scheme = PackingScheme(value_bits=48, headroom_bits=16, exponent=24)
    width = scheme.slots(pk)
    packed = PackedVector.encrypt(pk, rng.normal(size=(16, width)), scheme)
    ours = rate(lambda: len(packed.decrypt(sk)), budget)
    report.add("paillier_packed_decrypt_values", ours, phe_decrypt, f"phe decrypt ({width} slots)")

    many = np.random.default_rng(3).normal(size=1024 if quick else 4096)
    one_core = rate(lambda: len(EncryptedVector.encrypt(pk, many[:256])), budget)
    with PaillierPool() as pool:
        pool.warm(pk)
        all_cores = rate(lambda: len(EncryptedVector.encrypt(pk, many, pool=pool)), budget)
    report.add("paillier_encrypt_all_cores", all_cores, one_core, "chaihuo encrypt, one core")


def sharing_section(report: Report, quick: bool) -> None:
    """Local compute of a 2-party Beaver multiplication against a plain numpy multiply."""
    budget = 1.0 if quick else 3.0
    size = 1_000_000
    x, y = random_uint64(size), random_uint64(size)
    xs, ys = share(x, 2), share(y, 2)
    holders = [Shareholder(i, 2) for i in range(2)]
    elapsed, done = 0.0, 0
    while elapsed < budget:
        triples = deal_beaver_triples(size, 2)  # dealer work, outside the timed region
        start = time.perf_counter()
        masked = [beaver_mask(xs[i], ys[i], triples[i]) for i in range(2)]
        e, f = reconstruct([m.e for m in masked]), reconstruct([m.f for m in masked])
        z = [beaver_combine(triples[i], e, f, holders[i]) for i in range(2)]
        elapsed += time.perf_counter() - start
        done += size
    assert np.array_equal(reconstruct(z), x * y)
    ref = rate(lambda: len(x * y), budget)
    report.add("ss_beaver_mul_elements", done / elapsed, ref, "numpy uint64 multiply")


def gc_section(report: Report, quick: bool) -> None:
    """Half-gates garbling of 1024 parallel 64-bit comparisons against raw AES blocks/s."""
    budget = 1.0 if quick else 3.0
    lanes = 1024
    circuit = millionaires_circuit(bits=64, lanes=lanes)
    a = [int.from_bytes(os.urandom(8), "big") for _ in range(lanes)]
    a_bits = ints_to_bits(a, 64).reshape(-1)
    garble(circuit, a_bits)  # warm-up: caches the circuit fingerprint
    ours = rate(lambda: garble(circuit, a_bits) and circuit.n_and, budget)
    aes = Cipher(algorithms.AES(os.urandom(16)), modes.ECB()).encryptor()
    blocks = os.urandom(16 * 65536)
    ref = rate(lambda: len(aes.update(blocks)) // 16, budget)
    report.add("gc_and_gates", ours, ref, "AES-128 blocks/s (cryptography)")


def ecdh_section(report: Report, quick: bool) -> None:
    """Scalar multiplications on the ed25519 prime-order subgroup (libsodium via PyNaCl)."""
    points = hash_to_points([i.to_bytes(8, "big") for i in range(2000)], b"bench")
    scalar = random_scalar()
    ours = rate(lambda: len(scalar_mult_batch(scalar, points)), 1.0 if quick else 3.0)
    report.add("ecdh_ops", ours, None, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run (under 60 s)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always on)")
    parser.add_argument("--key-bits", type=int, default=2048)
    args = parser.parse_args(argv)
    report = Report("crypto")
    report.header()
    paillier_section(report, args.quick, args.key_bits)
    sharing_section(report, args.quick)
    gc_section(report, args.quick)
    ecdh_section(report, args.quick)
    print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
