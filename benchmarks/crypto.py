"""Crypto-layer benchmark: chaihuo beside python-paillier and plain baselines, one table + JSON."""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from phe import paillier as phe

from _harness import Report, rate
from chaihuo.crypto.paillier import (
    EncryptedVector,
    PackedVector,
    PackingScheme,
    PaillierPool,
    generate_keypair,
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
    phe_enc = [phe_pk.encrypt(float(v)) for v in values[:64]]
    ours = rate(lambda: len(enc[:batch].decrypt(sk)), budget)
    ref = rate(lambda: len([phe_sk.decrypt(c) for c in phe_enc[:8]]), budget)
    report.add("paillier_decrypt", ours, ref, "phe decrypt")
    phe_decrypt = ref

    ours = rate(lambda: len(enc + enc2), budget)
    ref = rate(lambda: len([a + b for a, b in zip(phe_enc, phe_enc[::-1], strict=True)]), budget)
    report.add("paillier_add", ours, ref, "phe add")

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
    phe_residual = [phe_pk.encrypt(float(v)) for v in rng.normal(size=rows)[:200]]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short run (under 60 s)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line (always on)")
    parser.add_argument("--key-bits", type=int, default=2048)
    args = parser.parse_args(argv)
    report = Report("crypto")
    report.header()
    paillier_section(report, args.quick, args.key_bits)
    print(report.json_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
