"""The one plaintext-matrix × encrypted-vector kernel: Π_i c_i^(E_ik) mod n² for every column k."""

# Every encrypted product of the vertical algorithms (X^T[[d]] of the GLMs, X·[[w]] and
# X^T·[[v]] of SSHE, EncryptedVector.rmatmul) is this multi-exponentiation over a small-integer
# matrix E (quantised features, B + 1 bits); `power_products` picks the method by shape and
# exponent length, and `PaillierPool.power_products` splits it over the party's workers.
#
# Few bases, many outputs (forward, X̃·[[w]]: d bases, b outputs): Straus's interleaving with
# subset tables ("Lim–Lee" comb over groups of g bases): for each group the 2^g products of
# its subsets are tabulated once; an output is then, per bit level, one table entry per group
# and one squaring: k·(⌈d/g⌉ + 1) multiplications for k-bit exponents instead of ≈ 1.5·k·d.
#
# Many bases, few outputs (backward, X̃^T·[[v]]: b bases, d outputs): the transpose of the
# same circuit (transposition principle, Bürgisser–Clausen–Shokrollahi, "Algebraic Complexity
# Theory" §13.1). For each group of g output columns and each bit level l, base c_i joins the
# bucket of its bit pattern S_il across the group (one multiplication); afterwards each
# column's level product is the product of the buckets whose pattern contains it, ≈ 2·2^g
# multiplications per group and level by folding the top bit away, and the levels combine by
# Horner's rule. Cost: k·⌈d/g⌉ per base plus k·⌈d/g⌉·2^(g+1) per call — about 1.2 per cell
# for 300 columns and 10^5 rows, against ≈ 2 for bucket (Pippenger) methods per column.
#
# Signs: exponents are shifted to be non-negative (per base for the forward shape, per column
# for the backward shape) and the shift is divided out once, as in `matrix_power_products`.

from __future__ import annotations

from collections.abc import Callable

import gmpy2
import numpy as np
import numpy.typing as npt
from gmpy2 import mpz

from chaihuo.crypto.paillier._multiexp import matrix_power_products

__all__ = [
    "KERNEL_BITS",
    "backward_group",
    "few_bases",
    "forward_group",
    "many_bases",
    "power_products",
]

KERNEL_BITS = 24
"""Exponents longer than this (loss limbs, wide features) go to Pippenger's bucket method."""

_MAX_TABLE = 1 << 18
"""Most table or bucket entries held at once (≈ 130 MB of 4096-bit residues)."""
_SLICE = 2048
"""Outputs whose selectors are expanded at once (bounds the Python lists)."""


def _best_group(cost: Callable[[int], int], memory: Callable[[int], int]) -> int:
    best, best_cost = 1, cost(1)
    for g in range(2, 17):
        if memory(g) > _MAX_TABLE:
            break
        if cost(g) < best_cost:
            best, best_cost = g, cost(g)
    return best


def forward_group(bases: int, outputs: int, bits: int) -> int:
    """g minimising outputs·k·⌈d/g⌉ multiplications + ⌈d/g⌉·2^g for the tables."""
    return _best_group(
        lambda g: outputs * bits * -(-bases // g) + -(-bases // g) * (1 << g),
        lambda g: -(-bases // g) * (1 << g),
    )


def backward_group(bases: int, outputs: int, bits: int) -> int:
    """g minimising b·k·⌈d/g⌉ bucket multiplications + ⌈d/g⌉·k·2^(g+1) for the marginals."""
    return _best_group(
        lambda g: bases * bits * -(-outputs // g) + -(-outputs // g) * bits * (2 << g),
        lambda g: bits * (1 << g),
    )


def _patterns(shifted: npt.NDArray[np.int64], g: int, level: int) -> npt.NDArray[np.int64]:
    """For rows × (groups·g) exponents: each row's bit pattern at `level` in every group."""
    rows, width = shifted.shape
    groups = -(-width // g)
    padded = np.zeros((rows, groups * g), dtype=np.int64)
    padded[:, :width] = (shifted >> level) & 1
    weights = np.int64(1) << np.arange(g, dtype=np.int64)
    patterns: npt.NDArray[np.int64] = (padded.reshape(rows, groups, g) * weights).sum(axis=2)
    return patterns


def _subset_table(members: list[mpz], modulus: mpz) -> list[mpz]:
    table = [mpz(1)]
    for base in members:  # table[s] = Π_{r ∈ s} members[r], built by doubling
        table += [entry * base % modulus for entry in table]
    return table


def few_bases(bases: list[mpz], exponents: npt.NDArray[np.int64], modulus: mpz) -> list[mpz]:
    """Π_i bases_i^(E_ik) for each column k of E (len(bases) × m), Straus with subset tables."""
    count, columns = exponents.shape
    offsets = np.maximum(-exponents.min(axis=1, initial=0), 0)
    shifted = exponents + offsets[:, np.newaxis]
    bits = max(int(shifted.max(initial=0)).bit_length(), 1)
    g = forward_group(count, columns, bits)
    tables = [_subset_table(bases[lo : lo + g], modulus) for lo in range(0, count, g)]
    out: list[mpz] = []
    for lo in range(0, columns, _SLICE):
        block = np.ascontiguousarray(shifted[:, lo : lo + _SLICE].T)  # outputs × bases
        levels = [_patterns(block, g, level).tolist() for level in range(bits)]
        for k in range(block.shape[0]):
            acc = mpz(1)
            for level in reversed(range(bits)):
                acc = acc * acc % modulus
                for table, s in zip(tables, levels[level][k], strict=True):
                    if s:
                        acc = acc * table[s] % modulus
            out.append(acc)
    if offsets.any():
        correction = mpz(1)
        for base, offset in zip(bases, offsets.tolist(), strict=True):
            if offset:
                correction = correction * gmpy2.powmod(base, -offset, modulus) % modulus
        out = [value * correction % modulus for value in out]
    return out


def _marginals(buckets: list[mpz | None], g: int, modulus: mpz) -> list[mpz]:
    """M_r = Π_{S ∋ r} buckets[S] for every bit r < g, folding the top bit away each round."""
    out = [mpz(1)] * g
    current = buckets
    for r in reversed(range(g)):
        half = len(current) // 2
        upper, lower = current[half:], current[:half]
        total: mpz | None = None
        for value in upper:
            if value is not None:
                total = value if total is None else total * value % modulus
        out[r] = mpz(1) if total is None else total
        folded: list[mpz | None] = []
        for a, b in zip(lower, upper, strict=True):
            folded.append(b if a is None else a if b is None else a * b % modulus)
        current = folded
    return out


def _column_group(
    bases: list[mpz], shifted: npt.NDArray[np.int64], bits: int, modulus: mpz
) -> list[mpz]:
    """Π_i c_i^(E_ij) for the ≤ g columns of `shifted` (rows × g): buckets per bit level."""
    g = shifted.shape[1]
    patterns = np.stack([_patterns(shifted, g, level)[:, 0] for level in range(bits)], axis=1)
    buckets: list[list[mpz | None]] = [[None] * (1 << g) for _ in range(bits)]
    for base, row in zip(bases, patterns.tolist(), strict=True):
        for level, s in enumerate(row):
            if s:
                held = buckets[level][s]
                buckets[level][s] = base if held is None else held * base % modulus
    acc = [mpz(1)] * g
    for level in reversed(range(bits)):
        marginals = _marginals(buckets[level], g, modulus)
        acc = [a * a % modulus * m % modulus for a, m in zip(acc, marginals, strict=True)]
    return acc


def many_bases(bases: list[mpz], exponents: npt.NDArray[np.int64], modulus: mpz) -> list[mpz]:
    """Π_i bases_i^(E_ij) for each column j of E (len(bases) × d), transposed Straus."""
    count, columns = exponents.shape
    offsets = np.maximum(-exponents.min(axis=0, initial=0), 0)
    shifted = exponents + offsets[np.newaxis, :]
    bits = max(int(shifted.max(initial=0)).bit_length(), 1)
    g = backward_group(count, columns, bits)
    out: list[mpz] = []
    for lo in range(0, columns, g):
        out.extend(_column_group(bases, np.ascontiguousarray(shifted[:, lo : lo + g]), bits,
                                 modulus))  # fmt: skip
    if offsets.any():
        total = mpz(1)
        for base in bases:
            total = total * base % modulus
        inverse = gmpy2.invert(total, modulus)
        out = [
            value * gmpy2.powmod(inverse, int(offset), modulus) % modulus if offset else value
            for value, offset in zip(out, offsets.tolist(), strict=True)
        ]
    return out


def power_products(bases: list[mpz], exponents: npt.NDArray[np.int64], modulus: mpz) -> list[mpz]:
    """Π_i bases_i^(E_ik) mod modulus for each column k of the (len(bases) × m) matrix E.

    Short exponents: Straus with subset tables when there are no more bases than outputs,
    its transpose (buckets per bit pattern) when there are more; long exponents: Pippenger.
    """
    count, columns = exponents.shape
    if count != len(bases):
        raise ValueError(f"{count} exponent rows for {len(bases)} bases")
    if count == 0:
        return [mpz(1)] * columns
    if int(np.abs(exponents).max(initial=0)).bit_length() > KERNEL_BITS:
        return matrix_power_products(bases, exponents, modulus)
    if count <= columns:
        return few_bases(bases, exponents, modulus)
    return many_bases(bases, exponents, modulus)
