"""Which rows go where: (stratified) train/validate/test assignment and (stratified) sampling."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from chaihuo.core import InvalidInputError

__all__ = [
    "UNUSED",
    "allocate",
    "resolve_size",
    "sample_mask",
    "split_codes",
]

UNUSED = 0
"""Code of a row that no part of a split takes; parts are numbered 1, 2, 3, …"""

Labels = npt.NDArray[np.int64]


def resolve_size(size: float | int | None, rows: int, name: str) -> int:
    """A part's row count: an int is a count, a float a fraction of `rows` (rounded half-even)."""
    if size is None:
        return 0
    if isinstance(size, bool):
        raise InvalidInputError(f"{name} must be a count or a fraction", **{name: size})
    if isinstance(size, int):
        if not 0 <= size <= rows:
            raise InvalidInputError(f"{name}={size} rows, but the data has {rows}")
        return size
    if not 0.0 <= size <= 1.0:
        raise InvalidInputError(f"{name} as a fraction must lie in [0, 1]", **{name: size})
    return round(size * rows)


def allocate(class_sizes: Sequence[int], totals: Sequence[int]) -> npt.NDArray[np.int64]:
    """A (classes × parts) table of counts whose row sums are the class sizes and whose column
    sums are `totals` (which must add up to the number of rows), as proportional as integers
    allow.

    Part by part, each class gets its share of the part in proportion to the rows it has
    left; the fractional remainders are settled by the largest-remainder (Hamilton) rule in
    exact integer arithmetic, so the result is deterministic and never over-draws a class
    (a class with a fractional quota has at least one row to spare).
    """
    remaining = np.asarray(class_sizes, dtype=np.int64).copy()
    if int(sum(totals)) != int(remaining.sum()):
        raise InvalidInputError("part sizes must add up to the number of rows")
    table = np.zeros((len(remaining), len(totals)), dtype=np.int64)
    for part, total in enumerate(totals[:-1]):
        left = int(remaining.sum())
        if left == 0 or total == 0:
            continue
        quota = [total * int(r) for r in remaining]
        base = np.array([q // left for q in quota], dtype=np.int64)
        fraction = [q % left for q in quota]
        short = total - int(base.sum())
        order = sorted(range(len(quota)), key=lambda c: (-fraction[c], c))
        for c in order[:short]:
            base[c] += 1
        table[:, part] = base
        remaining -= base
    table[:, -1] = remaining
    return table


def split_codes(
    labels: Labels | None,
    rows: int,
    sizes: Sequence[int],
    rng: np.random.Generator,
) -> npt.NDArray[np.uint8]:
    """Code per row: 1 + index of the part it goes to, or UNUSED.

    Without labels, a random permutation is cut into consecutive parts. With labels
    (stratified), every class is permuted on its own and cut by `allocate`, so each part
    holds the classes in (nearly) the proportions of the whole.
    """
    total = int(sum(sizes))
    if total > rows:
        raise InvalidInputError(f"the parts ask for {total} rows, but the data has {rows}")
    codes = np.full(rows, UNUSED, dtype=np.uint8)
    parts = [*sizes, rows - total]
    if labels is None:
        groups = [np.arange(rows)]
        table = np.asarray([parts], dtype=np.int64)
    else:
        classes, inverse = np.unique(labels, return_inverse=True)
        groups = [np.flatnonzero(inverse == c) for c in range(len(classes))]
        table = allocate([len(g) for g in groups], parts)
    for group, counts in zip(groups, table, strict=True):
        order = rng.permutation(group)
        bounds = np.cumsum(counts)
        for part in range(len(sizes)):
            start = 0 if part == 0 else int(bounds[part - 1])
            codes[order[start : int(bounds[part])]] = part + 1
    return codes


def sample_mask(
    labels: Labels | None,
    rows: int,
    rng: np.random.Generator,
    *,
    fraction: float | None = None,
    count: int | None = None,
    class_fractions: Mapping[int, float] | None = None,
    class_counts: Mapping[int, int] | None = None,
) -> npt.NDArray[np.bool_]:
    """Rows kept by a sample without replacement.

    Random: exactly `count` rows, or round(fraction·rows), uniform over subsets of that size.
    Stratified (labels given): per class c, class_counts[c] rows, or round(f_c·n_c) with f_c
    from class_fractions (falling back to `fraction`); every class must be covered.
    """
    mask = np.zeros(rows, dtype=np.bool_)
    if labels is None:
        wanted = count if count is not None else resolve_size(fraction, rows, "fraction")
        if wanted > rows:
            raise InvalidInputError(f"count={wanted} rows, but the data has {rows}")
        mask[rng.choice(rows, size=wanted, replace=False)] = True
        return mask
    for label in np.unique(labels).tolist():
        members = np.flatnonzero(labels == label)
        wanted = _class_quota(int(label), len(members), fraction, class_fractions, class_counts)
        mask[rng.choice(members, size=wanted, replace=False)] = True
    return mask


def _class_quota(
    label: int,
    size: int,
    fraction: float | None,
    class_fractions: Mapping[int, float] | None,
    class_counts: Mapping[int, int] | None,
) -> int:
    if class_counts is not None and label in class_counts:
        wanted = class_counts[label]
        if not 0 <= wanted <= size:
            raise InvalidInputError(
                f"class {label} has {size} rows; cannot sample {wanted} without replacement"
            )
        return wanted
    if class_fractions is not None and label in class_fractions:
        return resolve_size(float(class_fractions[label]), size, f"class_fractions[{label}]")
    if fraction is not None:
        return resolve_size(float(fraction), size, "fraction")
    raise InvalidInputError(
        f"stratified sampling has no fraction or count for class {label}",
        class_fractions=dict(class_fractions or {}),
        class_counts=dict(class_counts or {}),
    )
