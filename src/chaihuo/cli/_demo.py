"""`chaihuo demo crypto`: four secure computations, each with what it computed and how fast."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich.console import Console

from chaihuo.crypto.gc import millionaires
from chaihuo.crypto.paillier import EncryptedVector, FixedPoint, generate_keypair
from chaihuo.crypto.psi import (
    hash_to_points,
    intersect_digests,
    point_digests,
    random_scalar,
    scalar_mult_batch,
    validate_points,
)
from chaihuo.crypto.sharing import (
    FixedPointEncoding,
    Shareholder,
    beaver_combine,
    beaver_mask,
    deal_beaver_triples,
    deal_truncation_pairs,
    reconstruct,
    share,
    truncation_combine,
    truncation_mask,
)

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


def yao_millionaires(alice: int, bob: int) -> DemoStep:
    """Two 64-bit fortunes compared under a garbled circuit; only the comparison is revealed."""
    start = time.perf_counter()
    run = millionaires(alice, bob, bits=64)
    seconds = time.perf_counter() - start
    stats = run.stats
    return DemoStep(
        name="Yao's millionaires",
        computed="alice > bob for two private 64-bit fortunes (garbled circuit + OT)",
        result=f"alice is richer: {run.a_greater}",
        correct=run.a_greater == (alice > bob),
        seconds=seconds,
        speed=(
            f"{stats.and_gates} AND gates, {stats.garbler_bytes_sent:,} + "
            f"{stats.evaluator_bytes_sent:,} bytes exchanged"
        ),
    )


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


def secret_shared_product(size: int) -> DemoStep:
    """Element-wise product of two parties' private vectors with a dealer's triples and pairs."""
    encoding = FixedPointEncoding()
    data = np.random.default_rng(5)  # demo data only; all shares and triples use `secrets`
    x, y = data.uniform(-1, 1, size), data.uniform(-1, 1, size)
    start = time.perf_counter()
    x_shares, y_shares = share(encoding.encode(x), 2), share(encoding.encode(y), 2)
    triples = deal_beaver_triples(size, 2)
    holders = [Shareholder(i, 2) for i in range(2)]
    masked = [beaver_mask(x_shares[i], y_shares[i], triples[i]) for i in range(2)]
    e, f = reconstruct([m.e for m in masked]), reconstruct([m.f for m in masked])
    products = [beaver_combine(triples[i], e, f, holders[i]) for i in range(2)]
    # Back to f fractional bits with the dealer's truncation pairs: exact within one unit.
    pairs = deal_truncation_pairs(size, encoding.frac_bits, 2)
    opened = reconstruct([truncation_mask(products[i], pairs[i], holders[i]) for i in range(2)])
    z_shares = [truncation_combine(pairs[i], opened, holders[i]) for i in range(2)]
    product = encoding.decode(reconstruct(z_shares))
    seconds = time.perf_counter() - start
    error = float(np.max(np.abs(product - x * y)))
    # Each factor is rounded to 2^-17, |x|,|y| < 1, plus 1 ulp from truncation.
    bound = 2 * 2.0**-17 + 2.0**-16
    return DemoStep(
        name="Secret-shared product",
        computed=f"x·y for {size:,} pairs split into 2 additive shares over Z_2^64",
        result=f"max |error| vs plaintext = {error:.2e} (bound {bound:.1e})",
        correct=error <= bound,
        seconds=seconds,
        speed=f"{size / seconds:,.0f} products/s (incl. dealing triples)",
    )


def ecdh_set_intersection(size: int) -> DemoStep:
    """Two parties find their common ids: only the intersection is revealed (ECDH-PSI)."""
    guest = [f"+86-139-{i:07d}".encode() for i in range(size)]
    host = [f"+86-139-{i:07d}".encode() for i in range(size // 2, size // 2 + size)]
    domain = b"chaihuo-demo-psi"
    start = time.perf_counter()
    guest_key, host_key = random_scalar(), random_scalar()
    guest_once = scalar_mult_batch(guest_key, hash_to_points(guest, domain))  # guest -> host
    host_once = scalar_mult_batch(host_key, hash_to_points(host, domain))  # host -> guest
    guest_twice = scalar_mult_batch(host_key, validate_points(guest_once))  # host -> guest
    host_twice = point_digests(scalar_mult_batch(guest_key, validate_points(host_once)))
    common = intersect_digests(point_digests(guest_twice), host_twice)
    seconds = time.perf_counter() - start
    found = {guest[i] for i in common}
    return DemoStep(
        name="ECDH set intersection",
        computed=f"common ids of two sets of {size:,} phone numbers (ed25519 subgroup)",
        result=f"{len(found):,} common ids",
        correct=found == set(guest) & set(host),
        seconds=seconds,
        speed=f"{4 * size / seconds:,.0f} group operations/s",
    )


def run_crypto_demo(console: Console, *, parties: int, rows: int, key_bits: int) -> list[DemoStep]:
    """Run every demonstration, print a table, and return the steps."""
    steps = [
        yao_millionaires(alice=13_370_000_000_000_000_001, bob=12_345_678_901_234_567_890),
        _timed(lambda: paillier_secure_sum(parties, rows, key_bits)),
        secret_shared_product(100_000),
        ecdh_set_intersection(2_000),
    ]
    console.print("[bold]chaihuo crypto demo[/bold]: four secure computations\n")
    for step in steps:
        mark = "[green]ok[/green]" if step.correct else "[red]WRONG[/red]"
        console.print(f"[bold]{step.name}[/bold] [{mark}]  {step.computed}")
        console.print(f"    result: {step.result}")
        console.print(f"    time:   {step.seconds:.2f} s, {step.speed}\n")
    return steps
