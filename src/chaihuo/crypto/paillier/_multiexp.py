"""Multi-exponentiation mod n²: Π_i c_i^(x_ij) for every column j of a small-integer matrix."""

from __future__ import annotations

from collections.abc import Sequence

import gmpy2
import numpy as np
import numpy.typing as npt
from gmpy2 import mpz

__all__ = ["matrix_power_products"]

_GROUP_BITS = 8


def matrix_power_products(
    bases: Sequence[mpz], exponents: npt.NDArray[np.int64], modulus: mpz
) -> list[mpz]:
    """For an (N × m) integer matrix X, return [Π_i bases[i]^X[i, j] mod modulus for j < m].

    This is X^T @ [[d]] of vertical LR. Signs are handled by an offset: with o_j = max(0,
    −min_i X[i, j]), Π c_i^(X_ij) = Π c_i^(X_ij + o_j) · (Π c_i)^(−o_j), so every exponent is
    non-negative and the correction costs one shared product and one short power per column.
    The non-negative part is evaluated by the method that the cost model prefers:
    - grouped subset products (Straus's interleaving generalised to matrices: for each group of
      8 bases all 2^8 subset products are precomputed once and shared by every column, then each
      column costs one multiplication per group per bit), or
    - Pippenger's bucket method per column (Pippenger 1980; Bernstein's survey "Pippenger's
      exponentiation algorithm", 2002) when there are too few columns to amortise the tables.
    Both replace N full exponentiations per column by a few modular multiplications per base.
    """
    count, columns = exponents.shape
    if count != len(bases):
        raise ValueError("exponent matrix rows must match the number of bases")
    if count == 0:
        return [mpz(1)] * columns
    offsets = np.maximum(-exponents.min(axis=0), 0).astype(np.int64)
    shifted = (exponents + offsets).astype(np.uint64)
    bits = max(int(shifted.max()).bit_length(), 1)
    groups = -(-count // _GROUP_BITS)
    subset_cost = groups * (1 << _GROUP_BITS) + columns * bits * (groups + 1)
    window = _pippenger_window(count, bits)
    pippenger_cost = columns * (-(-bits // window) * (count + (2 << window)) + bits)
    if subset_cost < pippenger_cost:
        products = _subset_products(bases, shifted, bits, modulus)
    else:
        products = [_pippenger(bases, shifted[:, j], bits, window, modulus) for j in range(columns)]
    if not offsets.any():
        return products
    total_inverse = gmpy2.invert(_product(bases, modulus), modulus)
    return [
        value if not offset else value * gmpy2.powmod(total_inverse, int(offset), modulus) % modulus
        for value, offset in zip(products, offsets.tolist(), strict=True)
    ]


def _product(values: Sequence[mpz], modulus: mpz) -> mpz:
    acc = mpz(1)
    for value in values:
        acc = acc * value % modulus
    return acc


def _pippenger_window(count: int, bits: int) -> int:
    best_window, best_cost = 1, None
    for window in range(1, 16):
        cost = -(-bits // window) * (count + (2 << window))
        if best_cost is None or cost < best_cost:
            best_window, best_cost = window, cost
    return best_window


def _subset_products(
    bases: Sequence[mpz], shifted: npt.NDArray[np.uint64], bits: int, modulus: mpz
) -> list[mpz]:
    count, columns = shifted.shape
    groups = -(-count // _GROUP_BITS)
    padded = np.zeros((groups * _GROUP_BITS, columns), dtype=np.uint64)
    padded[:count] = shifted
    tables = []
    for g in range(groups):
        members = bases[g * _GROUP_BITS : (g + 1) * _GROUP_BITS]
        table = [mpz(1)]
        for base in members:  # table[s] = Π_{r ∈ s} members[r], built by doubling
            table += [entry * base % modulus for entry in table]
        tables.append(table)
    weights = (np.uint64(1) << np.arange(_GROUP_BITS, dtype=np.uint64)).reshape(1, -1, 1)
    grouped = padded.reshape(groups, _GROUP_BITS, columns)
    # selectors[j][t][g]: the subset of group g whose members have bit t set in column j.
    selectors = (
        np.stack(
            [
                (((grouped >> np.uint64(t)) & np.uint64(1)) * weights).sum(axis=1)
                for t in range(bits)
            ]
        )
        .astype(np.int64)
        .transpose(2, 0, 1)
        .tolist()
    )
    out = []
    for column in selectors:
        acc = mpz(1)
        for level in reversed(column):
            acc = acc * acc % modulus
            for table, selector in zip(tables, level, strict=True):
                if selector:
                    acc = acc * table[selector] % modulus
        out.append(acc)
    return out


def _pippenger(
    bases: Sequence[mpz], column: npt.NDArray[np.uint64], bits: int, window: int, modulus: mpz
) -> mpz:
    mask = np.uint64((1 << window) - 1)
    acc = mpz(1)
    for w in range(-(-bits // window) - 1, -1, -1):
        for _ in range(window):
            acc = acc * acc % modulus
        digits = ((column >> np.uint64(w * window)) & mask).tolist()
        buckets: dict[int, mpz] = {}
        for base, digit in zip(bases, digits, strict=True):
            if digit:
                held = buckets.get(digit)
                buckets[digit] = base if held is None else held * base % modulus
        running, total = mpz(1), mpz(1)
        for digit in range(1 << window, 0, -1):
            held = buckets.get(digit)
            if held is not None:
                running = running * held % modulus
            if running != 1:
                total = total * running % modulus
        acc = acc * total % modulus
    return acc
