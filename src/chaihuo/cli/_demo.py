"""`chaihuo demo crypto`: four secure computations, each with what it computed and how fast."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.table import Table

from chaihuo.crypto.paillier import EncryptedVector, FixedPoint, generate_keypair

__all__ = ["DemoStep", "run_crypto_demo"]


@dataclass(frozen=True)
class DemoStep:
    """One demonstrated computation: what was computed, its result, whether it checked out."""

    name: str
    computed: str
    result: str
    correct: bool
    seconds: float
    speed: str


def _timed(step: Callable[[], DemoStep]) -> DemoStep:
    start = time.perf_counter()
    done = step()
    return DemoStep(**{**done.__dict__, "seconds": time.perf_counter() - start})


def paillier_secure_sum(parties: int, rows: int, key_bits: int) -> DemoStep:
    """Each party encrypts its salaries under the arbiter's key; only the total is decrypted."""
    keys = generate_keypair(key_bits)
    salaries = [np.arange(rows, dtype=np.int64) * (p + 1) + 1000 * p for p in range(parties)]
    encrypt_start = time.perf_counter()
    encrypted = [EncryptedVector.encrypt(keys.public_key, s, FixedPoint(0)) for s in salaries]
    encrypt_seconds = time.perf_counter() - encrypt_start
    total = encrypted[0].sum()
    for vector in encrypted[1:]:
        total = total + vector.sum()
    (decrypted,) = total.decrypt_int(keys.private_key)
    expected = int(sum(int(s.sum()) for s in salaries))
    return DemoStep(
        name="Paillier secure sum",
        computed=f"Σ of {parties}×{rows} private salaries, {key_bits}-bit key",
        result=f"{decrypted:,} (plaintext {expected:,})",
        correct=decrypted == expected,
        seconds=0.0,
        speed=f"{parties * rows / encrypt_seconds:,.0f} encryptions/s",
    )


def run_crypto_demo(console: Console, *, parties: int, rows: int, key_bits: int) -> list[DemoStep]:
    """Run every demonstration, print a table, and return the steps."""
    steps = [_timed(lambda: paillier_secure_sum(parties, rows, key_bits))]
    table = Table(title="chaihuo crypto demo", show_lines=True)
    for column in ("computation", "what", "result", "ok", "time", "speed"):
        table.add_column(column)
    for step in steps:
        table.add_row(
            step.name,
            step.computed,
            step.result,
            "[green]yes[/green]" if step.correct else "[red]NO[/red]",
            f"{step.seconds:.2f} s",
            step.speed,
        )
    console.print(table)
    return steps
