"""Secret-shared arithmetic over channels: 2 and 3 parties, dealer and Paillier triples."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from chaihuo.core import InvalidInputError
from chaihuo.crypto.sharing import reconstruct, ring_matmul
from chaihuo.mpc import PaillierTriples, ProtocolError, Session, SharedTensor, serve_triples

ULP = 2.0**-16  # resolution of the default encoding (f = 16)
RNG = np.random.default_rng(7)  # test data only; the protocols draw from the OS CSPRNG


def fixed_tolerance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """|x·y error| ≤ (|x| + |y| + 2)·2^-16: input rounding (2^-17 each) plus truncation (1 ulp)."""
    return (np.abs(x) + np.abs(y) + 2) * ULP


@pytest.mark.parametrize("n", [2, 3])
def test_input_and_reveal_reals_and_integers(hub: Any, n: int) -> None:
    reals = RNG.normal(scale=1000, size=(4, 3))
    ints = RNG.integers(-(2**62), 2**62, size=7)

    def program(s: Session) -> tuple[Any, Any, Any]:
        x = s.input(n - 1, reals if s.index == n - 1 else None)
        k = s.input(0, ints if s.index == 0 else None, integer=True)
        return x.reveal(), k.reveal(), x.reveal(to=1)

    for index, (x, k, x_to_1) in enumerate(hub.spmd(n, program, triples=None)):
        np.testing.assert_allclose(x, reals, atol=ULP / 2)
        np.testing.assert_array_equal(k, ints)
        assert (x_to_1 is None) == (index != 1)


@pytest.mark.parametrize("n", [2, 3])
def test_linear_operations_are_exact_on_integers(hub: Any, n: int) -> None:
    a, b = RNG.integers(-(2**40), 2**40, size=(2, 5))

    def program(s: Session) -> list[Any]:
        x = s.input(0, a if s.index == 0 else None, integer=True)
        y = s.input(1, b if s.index == 1 else None, integer=True)
        outs = [x + y, x - y, -x, x + 3, 10 - y, x * -7, 2 * y, (x + y).sum(), x[1:3]]
        return [t.reveal() for t in outs]

    for got in hub.spmd(n, program, triples=None):
        expected = [a + b, a - b, -a, a + 3, 10 - b, a * -7, 2 * b, (a + b).sum(), a[1:3]]
        for value, want in zip(got, expected, strict=True):
            np.testing.assert_array_equal(value, want)


@pytest.mark.parametrize("n", [2, 3])
def test_beaver_multiplication_of_integers_is_exact_mod_2_64(hub: Any, n: int) -> None:
    a = RNG.integers(-(2**63), 2**63 - 1, size=6, dtype=np.int64)
    b = RNG.integers(-(2**63), 2**63 - 1, size=6, dtype=np.int64)

    def program(s: Session) -> Any:
        x = s.input(0, a if s.index == 0 else None, integer=True)
        y = s.input(n - 1, b if s.index == n - 1 else None, integer=True)
        return (x * y).reveal()

    with np.errstate(over="ignore"):
        expected = a * b  # int64 multiply wraps mod 2^64, like the ring
    for got in hub.spmd(n, program):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("n", [2, 3])
def test_fixed_point_products_within_tolerance(hub: Any, n: int) -> None:
    a, b = RNG.normal(scale=30, size=(2, 8))
    m1, m2 = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2))

    def program(s: Session) -> list[Any]:
        x, y = s.input(0, a if s.index == 0 else None), s.input(1, b if s.index == 1 else None)
        p = s.input(n - 1, m1 if s.index == n - 1 else None)
        q = s.input(0, m2 if s.index == 0 else None)
        return [(x * y).reveal(), (p @ q).reveal(), (x * 0.25).reveal(), (p @ m2).reveal()]

    for prod, matprod, scaled, public_mat in hub.spmd(n, program):
        assert np.all(np.abs(prod - a * b) <= fixed_tolerance(a, b))
        # each of the 4 inner terms carries the element bound; plus one truncation
        bound = 4 * (np.abs(m1).max() + np.abs(m2).max() + 2) * ULP
        assert np.abs(matprod - m1 @ m2).max() <= bound
        assert np.abs(public_mat - m1 @ m2).max() <= bound
        assert np.all(np.abs(scaled - a * 0.25) <= fixed_tolerance(a, np.full_like(a, 0.25)))


LARGEST_FACTOR = 2.0**15 - 1  # |x·y| < 2^30: the largest product truncation allows at f = 16


@pytest.mark.parametrize(
    ("n", "pairs", "chunk"), [(2, 10_000_000, 1_000_000), (3, 500_000, 500_000)]
)
def test_products_at_the_largest_magnitudes_never_fail(
    hub: Any, n: int, pairs: int, chunk: int
) -> None:
    """10⁷ two-party products (the wrap-bit truncation), 5·10⁵ three-party (truncation pairs).

    SecureML's local truncation is wildly wrong with probability 2^(l+1−64) per product of l
    bits: at l = 62 about one product in four, so ~2.5 million bad elements here. Each element
    must stay within the rounding bound: input encoding (2^-17 times the other factor, each)
    plus one unit of truncation (2^-16).
    """
    rng = np.random.default_rng(13)
    factors = []
    for _ in range(pairs // chunk):
        a, b = rng.uniform(-LARGEST_FACTOR, LARGEST_FACTOR, size=(2, chunk))
        a[:8], b[:8] = LARGEST_FACTOR * np.array([[1, -1, 1, -1] * 2, [1, 1, -1, -1] * 2])
        factors.append((a, b))

    def program(s: Session) -> Any:
        worst = 0.0
        for a, b in factors:
            x = s.input(0, a if s.index == 0 else None)
            y = s.input(n - 1, b if s.index == n - 1 else None)
            got = (x * y).reveal(to=0)
            if got is not None:
                bound = fixed_tolerance(a, b) - ULP  # (|a| + |b| + 1)·2^-16 ≥ the bound above
                worst = max(worst, float(np.max(np.abs(got - a * b) / bound)))
        return worst

    worst = hub.spmd(n, program)[0]
    assert worst <= 1.0


def test_integer_times_real_keeps_fixed_point(hub: Any) -> None:
    def program(s: Session) -> Any:
        k = s.input(0, np.array([3, -4]) if s.index == 0 else None, integer=True)
        x = s.input(1, np.array([0.5, 1.25]) if s.index == 1 else None)
        return (k * x).reveal(), (k @ np.array([[1], [2]])).reveal()

    for prod, mat in hub.spmd(2, program):
        np.testing.assert_allclose(prod, [1.5, -5.0], atol=ULP)
        np.testing.assert_array_equal(mat, [-5])


def test_paillier_triples_are_exact(hub: Any, paillier_sources: list[Any]) -> None:
    """Gilboa triples: c0 + c1 = (a0 + a1)·(b0 + b1) mod 2^64, element-wise and as matrices."""

    def program(s: Session) -> tuple[Any, ...]:
        t = s.triples.beaver(s, "t1", (2, 3))
        m = s.triples.matrix(s, "t2", 2, 3, 2)
        return t.a, t.b, t.c, m.a, m.b, m.c

    shares = hub.spmd(2, program, triples=paillier_sources)
    a, b, c, ma, mb, mc = (reconstruct([p[i] for p in shares]) for i in range(6))
    np.testing.assert_array_equal(c, a * b)
    np.testing.assert_array_equal(mc, ring_matmul(ma, mb))


def test_paillier_triples_drive_multiplication(hub: Any, paillier_sources: list[Any]) -> None:
    a, b = np.array([1.5, -2.0, 3.25]), np.array([-4.0, 0.5, 2.0])

    def program(s: Session) -> Any:
        x, y = s.input(0, a if s.index == 0 else None), s.input(1, b if s.index == 1 else None)
        return (x * y).reveal(to=0)

    got, other = hub.spmd(2, program, triples=paillier_sources)
    assert other is None
    np.testing.assert_allclose(got, a * b, atol=4 * ULP)


def test_a_party_never_receives_another_partys_raw_input(hub: Any) -> None:
    secret = RNG.integers(2**40, 2**62, size=16)

    def program(s: Session) -> Any:
        x = s.input(0, secret if s.index == 0 else None, integer=True)
        y = s.input(1, secret[::-1].copy() if s.index == 1 else None, integer=True)
        return (x * y).sum().reveal()

    hub.spmd(3, program)
    raw = secret.astype("<i8").tobytes()
    for name in ("p1", "p2", "dealer"):
        for payload in hub.payloads(name):
            assert all(raw[8 * i : 8 * i + 8] not in payload for i in range(16))


def test_wrong_shape_share_is_a_protocol_error(hub: Any) -> None:
    hub.tamper[("p0", "open")] = lambda parts: tuple(p[:1] for p in parts)

    def program(s: Session) -> Any:
        return s.input(0, np.ones(3) if s.index == 0 else None).reveal()

    results = hub.run_collect(
        {f"p{i}": (lambda i=i: program(hub.session(i, 2, None))) for i in range(2)}
    )
    assert isinstance(results["p1"], ProtocolError)
    assert results["p1"].code == "FEDERATION_PROTOCOL"


def test_wrong_dtype_share_is_a_protocol_error(hub: Any) -> None:
    hub.tamper[("p0", "share")] = lambda share: share.astype(np.float64)
    results = hub.run_collect(
        {
            "p0": lambda: hub.session(0, 2, None).input(0, np.ones(2)),
            "p1": lambda: hub.session(1, 2, None).input(0),
        }
    )
    assert isinstance(results["p1"], ProtocolError)


def test_bad_dealer_request_is_a_protocol_error(hub: Any) -> None:
    hub.tamper[("p0", "request")] = lambda request: ("beaver", [-1])

    def program(s: Session) -> Any:
        x = s.input(0, np.ones(2) if s.index == 0 else None)
        return (x * x).reveal()

    results = hub.run_collect(
        {
            "p0": lambda: program(hub.session(0, 2)),
            "p1": lambda: program(hub.session(1, 2)),
            "dealer": lambda: serve_triples([hub.channel("dealer", f"p{i}") for i in range(2)]),
        }
    )
    assert isinstance(results["dealer"], ProtocolError)


def test_paillier_peer_sending_plain_arrays_is_rejected(hub: Any, paillier_keys: Any) -> None:
    hub.tamper[("p0", "inputs")] = lambda vector: np.zeros(4, dtype=np.uint64)
    sources = [PaillierTriples(paillier_keys), PaillierTriples()]

    def program(i: int) -> Any:
        s = hub.session(i, 2, sources[i])
        return s.triples.beaver(s, "t", (2,))

    results = hub.run_collect({"p0": lambda: program(0), "p1": lambda: program(1)})
    assert isinstance(results["p1"], ProtocolError)


def test_local_arguments_are_checked(hub: Any) -> None:
    channel = hub.channel("p0", "p1")
    with pytest.raises(InvalidInputError):
        Session(2, {1: channel})
    with pytest.raises(InvalidInputError):
        Session(0, {2: channel})
    with pytest.raises(InvalidInputError):
        Session(0, {1: object()})  # type: ignore[dict-item]
    session = Session(0, {1: channel})
    with pytest.raises(InvalidInputError):
        session.input(0)  # the owner must pass its value
    with pytest.raises(InvalidInputError):
        session.input(5, np.ones(1))
    with pytest.raises(InvalidInputError):
        session.input(0, np.array([np.inf]))
    x = session.from_share(np.zeros(2, dtype=np.uint64))
    y = session.from_share(np.zeros(3, dtype=np.uint64))
    with pytest.raises(InvalidInputError):
        x + y
    with pytest.raises(InvalidInputError):
        x * y
    with pytest.raises(InvalidInputError):
        x * x  # no triple source
    assert isinstance(x, SharedTensor) and x.shape == (2,)


def test_numpy_array_on_the_left(hub: Any) -> None:
    def program(s: Session) -> Any:
        x = s.input(0, np.array([1.0, 2.0]) if s.index == 0 else None)
        return (np.array([0.5, 0.25]) + x).reveal(), (np.array([3, 4]) * x).reveal()

    for total, scaled in hub.spmd(2, program, triples=None):
        np.testing.assert_allclose(total, [1.5, 2.25], atol=ULP)
        np.testing.assert_allclose(scaled, [3.0, 8.0], atol=ULP)
