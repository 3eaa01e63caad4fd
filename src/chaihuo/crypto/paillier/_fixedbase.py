"""Windowed fixed-base exponentiation: hs^a as a product of one table entry per exponent window."""

from __future__ import annotations

import gmpy2
from gmpy2 import mpz

__all__ = ["FixedBaseTable"]


class FixedBaseTable:
    """Precomputed powers base^(d·2^(w·i)) mod m for every window i and digit d < 2^w.

    With an ℓ-bit exponent this turns one exponentiation (≈ ℓ squarings + ℓ/5 multiplications)
    into ⌈ℓ/w⌉ modular multiplications, at the price of ⌈ℓ/w⌉·2^w stored residues
    (Brickell–Gordon–McCurley–Wilson, "Fast exponentiation with precomputation", EUROCRYPT '92).
    """

    __slots__ = ("_mask", "_modulus", "_rows", "exponent_bits", "window")

    def __init__(self, base: mpz, modulus: mpz, exponent_bits: int, window: int) -> None:
        self.window = window
        self.exponent_bits = exponent_bits
        self._modulus = modulus
        self._mask = (1 << window) - 1
        rows: list[list[mpz]] = []
        step = gmpy2.f_mod(base, modulus)
        for _ in range((exponent_bits + window - 1) // window):
            row = [mpz(1)] * (1 << window)
            acc = mpz(1)
            for digit in range(1, 1 << window):
                acc = acc * step % modulus
                row[digit] = acc
            rows.append(row)
            step = acc * step % modulus
        self._rows = rows

    def power(self, exponent: int) -> mpz:
        """base^exponent mod m for 0 ≤ exponent < 2^exponent_bits."""
        modulus, mask, window = self._modulus, self._mask, self.window
        acc = mpz(1)
        for row in self._rows:
            digit = exponent & mask
            if digit:
                acc = acc * row[digit] % modulus
            exponent >>= window
        return acc

    @property
    def entries(self) -> int:
        """Number of stored residues (memory ≈ entries × modulus bytes)."""
        return len(self._rows) << self.window
