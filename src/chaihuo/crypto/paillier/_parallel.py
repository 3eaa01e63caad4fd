"""A party-local process pool that spreads Paillier vector work over all cores."""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from gmpy2 import mpz

from chaihuo.crypto.paillier._kernels import power_products
from chaihuo.crypto.paillier._keys import PaillierPrivateKey, PaillierPublicKey

__all__ = ["MIN_PARALLEL_ITEMS", "POOL_MIN_CELLS", "PaillierPool", "pooled_power_products"]

MIN_PARALLEL_ITEMS = 64
"""Vectors shorter than this stay in the calling process: IPC would cost more than it saves."""
POOL_MIN_CELLS = 200_000
"""Below this many exponent cells (about a second of multiplications mod n²) a matrix product
stays in the calling process: shipping operands to the pool would cost more than it saves."""
ROWS_PER_EXTRA_BLOCK = 50_000
"""Row blocks beyond one per worker (for load balance) only from this many rows per block."""

_T = TypeVar("_T")
_R = TypeVar("_R")
KeyMaterial = tuple[int, int, int] | tuple[int]

# Keys rebuilt inside each worker process (one cache per worker, keyed by the key material),
# so fixed-base tables are built once per worker and reused by every later task.
_WORKER_KEYS: dict[tuple[int, ...], PaillierPublicKey | PaillierPrivateKey] = {}


def _worker_key(material: KeyMaterial) -> PaillierPublicKey | PaillierPrivateKey:
    key = _WORKER_KEYS.get(material)
    if key is None:
        public_key = PaillierPublicKey(material[0])
        key = public_key if len(material) == 1 else PaillierPrivateKey(public_key, *material[1:])
        _WORKER_KEYS[material] = key
    return key


def _encrypt_chunk(material: KeyMaterial, residues: list[int]) -> list[mpz]:
    return _worker_key(material).raw_encrypt(residues)


def _decrypt_chunk(material: KeyMaterial, ciphertexts: list[mpz]) -> list[mpz]:
    key = _worker_key(material)
    assert isinstance(key, PaillierPrivateKey)
    return key.raw_decrypt(ciphertexts)


def _rerandomize_chunk(material: KeyMaterial, ciphertexts: list[mpz]) -> list[mpz]:
    key = _worker_key(material)
    public_key = key if isinstance(key, PaillierPublicKey) else key.public_key
    return public_key.rerandomize(ciphertexts)


def _column_blocks(
    modulus: mpz, bases: list[mpz], blocks: list[npt.NDArray[np.int64]]
) -> list[mpz]:
    """Worker task: every output of each block of columns (the few bases travel with it)."""
    out: list[mpz] = []
    for block in blocks:
        out.extend(power_products(bases, block, modulus))
    return out


def _row_blocks(
    modulus: mpz, blocks: list[tuple[list[mpz], npt.NDArray[np.int64]]]
) -> list[list[mpz]]:
    """Worker task: every column's partial product over each block of rows."""
    return [power_products(bases, exponents, modulus) for bases, exponents in blocks]


def _elementwise_power_chunk(modulus: mpz, pairs: list[tuple[mpz, int]]) -> list[mpz]:
    from gmpy2 import powmod  # noqa: PLC0415 - keeps the worker's import list minimal

    return [powmod(c, k, modulus) for c, k in pairs]


def _warm_chunk(material: KeyMaterial, count: int) -> int:
    _worker_key(material).raw_encrypt([0] * count)
    return os.getpid()


def key_material(key: PaillierPublicKey | PaillierPrivateKey) -> KeyMaterial:
    """What a worker needs to rebuild the key: n, and p, q for the key holder."""
    if isinstance(key, PaillierPrivateKey):
        return (int(key.public_key.n), int(key.p), int(key.q))
    return (int(key.n),)


def _chunks(items: Sequence[_T], pieces: int) -> list[Sequence[_T]]:
    size = max(1, -(-len(items) // pieces))
    return [items[i : i + size] for i in range(0, len(items), size)]


class PaillierPool:
    """Worker processes owned by one party; nothing here crosses a party boundary.

    Workers are started from a fork server (safe beside threads, e.g. gRPC), rebuild keys from
    (n[, p, q]) and keep their fixed-base tables between tasks. Use as a context manager or
    call `close()`.
    """

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["chaihuo.crypto.paillier._parallel"])
        self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)

    def __enter__(self) -> PaillierPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers."""
        self._executor.shutdown(wait=True, cancel_futures=True)

    @property
    def executor(self) -> Executor:
        """The workers as a plain executor, for this party's other vectorised work (e.g. the
        group operations of PSI); tasks must be picklable module-level functions."""
        return self._executor

    def warm(self, key: PaillierPublicKey | PaillierPrivateKey) -> None:
        """Build the key's tables in every worker before timing-sensitive work."""
        material = key_material(key)
        futures = [
            self._executor.submit(_warm_chunk, material, 64) for _ in range(self.workers * 2)
        ]
        for future in futures:
            future.result()

    def map(
        self, fn: Callable[..., list[_R]], shared: tuple[object, ...], items: Sequence[_T]
    ) -> list[_R]:
        """Apply fn(*shared, chunk) to balanced chunks of `items` and concatenate the results."""
        futures = [
            self._executor.submit(fn, *shared, list(chunk))
            for chunk in _chunks(items, self.workers * 4)
        ]
        out: list[_R] = []
        for future in futures:
            out.extend(future.result())
        return out

    def encrypt(
        self, key: PaillierPublicKey | PaillierPrivateKey, residues: list[int]
    ) -> list[mpz]:
        """Encrypt residues in [0, n) across the workers."""
        return self.map(_encrypt_chunk, (key_material(key),), residues)

    def decrypt(self, key: PaillierPrivateKey, ciphertexts: list[mpz]) -> list[mpz]:
        """Decrypt across the workers."""
        return self.map(_decrypt_chunk, (key_material(key),), ciphertexts)

    def rerandomize(self, key: PaillierPublicKey, ciphertexts: list[mpz]) -> list[mpz]:
        """Fresh obfuscators across the workers."""
        return self.map(_rerandomize_chunk, (key_material(key),), ciphertexts)

    def elementwise_power(self, modulus: mpz, pairs: list[tuple[mpz, int]]) -> list[mpz]:
        """c_i^k_i mod modulus across the workers."""
        return self.map(_elementwise_power_chunk, (modulus,), pairs)

    def power_products(
        self, modulus: mpz, bases: list[mpz], exponents: npt.NDArray[np.int64]
    ) -> list[mpz]:
        """`power_products` over the workers, split so that no operand is shipped twice.

        More bases than outputs (X^T[[d]]: 10^5 rows, a few hundred features): blocks of rows,
        each worker gets only its rows and their ciphertexts and returns one partial product
        per column; the partials multiply together (Π over blocks = Π over all rows), one
        multiplication per column and block. Otherwise (X·[[w]]: few bases, many outputs):
        blocks of columns, each with the few bases.
        """
        count, columns = exponents.shape
        pieces = self.workers * 2
        if count <= columns:
            bounds = np.linspace(0, columns, min(pieces, columns) + 1).astype(int).tolist()
            blocks = [
                np.ascontiguousarray(exponents[:, lo:hi])
                for lo, hi in itertools.pairwise(bounds)
                if hi > lo
            ]
            return self.map(_column_blocks, (modulus, bases), blocks)
        # One block per worker: each block repeats the kernel's per-call bucket work (4 blocks
        # of 5,000 rows cost 13 % more than one of 20,000), so split finer only for long inputs.
        row_blocks = max(self.workers, min(pieces, count // ROWS_PER_EXTRA_BLOCK))
        bounds = np.linspace(0, count, min(row_blocks, count) + 1).astype(int).tolist()
        work = [
            (bases[lo:hi], np.ascontiguousarray(exponents[lo:hi]))
            for lo, hi in itertools.pairwise(bounds)
            if hi > lo
        ]
        partials = self.map(_row_blocks, (modulus,), work)
        out = partials[0]
        for partial in partials[1:]:
            out = [a * b % modulus for a, b in zip(out, partial, strict=True)]
        return out


def pooled_power_products(
    bases: list[mpz], exponents: npt.NDArray[np.int64], modulus: mpz, pool: PaillierPool | None
) -> list[mpz]:
    """Π_i bases_i^(E_ik) for every column k: in the pool when there is one and it pays off."""
    if pool is None or exponents.size < POOL_MIN_CELLS:
        return power_products(bases, exponents, modulus)
    return pool.power_products(modulus, bases, exponents)
