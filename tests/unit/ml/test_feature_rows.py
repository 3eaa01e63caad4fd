"""data_split and sample: sizes, stratification, and guest/host rows still aligned afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chaihuo.components.builtin._data_split import DATA_SPLIT
from chaihuo.components.builtin._reader import READER
from chaihuo.components.builtin._sample import SAMPLE
from chaihuo.core import InvalidInputError, Role
from chaihuo.federation import Party, ProtocolViolationError
from chaihuo.ml import dataset_arrays, id_digest
from chaihuo.ml.feature.rows import allocate, sample_mask, split_codes
from chaihuo.runtime import Context
from chaihuo.testing import run_parties

DATA = Path(__file__).resolve().parents[3] / "data" / "fate-examples"
GUEST, HOST = Party(Role.GUEST, "9999"), Party(Role.HOST, "10000")
ROLES = {"guest": 9999, "host": 10000}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 50), min_size=1, max_size=6),
    st.lists(st.integers(0, 100), min_size=1, max_size=4),
)
def test_allocation_keeps_row_and_column_sums_and_proportions(
    classes: list[int], weights: list[int]
) -> None:
    rows = sum(classes)
    total_weight = sum(weights) or 1
    parts = [rows * w // total_weight for w in weights]
    parts.append(rows - sum(parts))
    table = allocate(classes, parts)
    assert table.sum(axis=1).tolist() == classes and table.sum(axis=0).tolist() == parts
    assert np.all(table >= 0)
    if rows:
        ideal = np.outer(classes, parts) / rows
        assert np.all(np.abs(table - ideal) < len(parts) + 1)


def test_stratified_split_codes_keep_class_proportions() -> None:
    labels = np.array([0] * 700 + [1] * 250 + [2] * 50)
    codes = split_codes(labels, 1000, [600, 200, 100], np.random.default_rng(1))
    assert [int((codes == k).sum()) for k in (1, 2, 3, 0)] == [600, 200, 100, 100]
    for part, size in zip((1, 2, 3), (600, 200, 100), strict=True):
        for label, share in ((0, 0.7), (1, 0.25), (2, 0.05)):
            assert abs(int(np.sum((codes == part) & (labels == label))) - share * size) <= 1


def test_samples_have_exact_sizes() -> None:
    rng = np.random.default_rng(0)
    assert int(sample_mask(None, 100, rng, count=37).sum()) == 37
    assert int(sample_mask(None, 100, rng, fraction=0.25).sum()) == 25
    labels = np.array([0] * 80 + [1] * 20)
    mask = sample_mask(labels, 100, rng, class_fractions={0: 0.25, 1: 1.0})
    assert int(mask[:80].sum()) == 20 and int(mask[80:].sum()) == 20
    mask = sample_mask(labels, 100, rng, fraction=0.5, class_counts={1: 3})
    assert int(mask[:80].sum()) == 40 and int(mask[80:].sum()) == 3
    with pytest.raises(InvalidInputError, match="class 1"):
        sample_mask(labels, 100, rng, class_fractions={0: 0.5})


def _read(ctx: Context, guest: Path, host: Path, partitions: int = 3) -> Any:
    read: dict[str, Any] = {"path": str(guest if ctx.role == Role.GUEST else host), "id": "id"}
    read["partitions"] = partitions
    if ctx.role == Role.GUEST:
        read["label"] = "y"
    return READER.runners[ctx.role](ctx.sub("reader_0"), READER.params(**read), {})["data"]


def _summary(dataset: Any) -> dict[str, Any]:
    arrays = dataset_arrays(dataset)
    return {
        "digest": id_digest(arrays.ids),
        "rows": arrays.rows,
        "partitions": dataset.partitions,
        "labels": None if arrays.labels is None else arrays.labels.tolist(),
    }


def _run(computing: Any, spec: Any, params: dict[str, Any], guest: Path, host: Path) -> Any:
    def party(ctx: Context) -> Any:
        data = _read(ctx, guest, host)
        out = spec.runners[ctx.role](ctx.sub("c_0"), spec.params(**params), {"data": data})
        return {name: _summary(value) for name, value in out.items()}

    return run_parties(party, ROLES, computing=computing)


BREAST = (DATA / "breast_hetero_guest.csv", DATA / "breast_hetero_host.csv")


def test_data_split_on_breast_is_stratified_and_aligned(computing: Any) -> None:
    params = {"train_size": 0.6, "validate_size": 0.2, "test_size": 0.2, "seed": 7}
    results = _run(computing, DATA_SPLIT, params, *BREAST)
    guest, host = results[GUEST], results[HOST]
    assert [guest[p]["rows"] for p in ("train", "validate", "test")] == [341, 114, 114]
    everything = [label for part in guest.values() for label in part["labels"]]
    assert sorted(everything).count(1) == 357 and len(everything) == 569
    for part in ("train", "validate", "test"):
        assert guest[part]["digest"] == host[part]["digest"]
        assert guest[part]["partitions"] == host[part]["partitions"] == 3
        positives = sum(guest[part]["labels"])
        assert abs(positives - guest[part]["rows"] * 357 / 569) <= 1


def test_data_split_by_counts_without_stratification(computing: Any) -> None:
    params = {"train_size": 400, "test_size": 100, "stratified": False, "seed": 1}
    results = _run(computing, DATA_SPLIT, params, *BREAST)
    assert [results[GUEST][p]["rows"] for p in ("train", "validate", "test")] == [400, 0, 100]
    assert results[GUEST]["train"]["digest"] == results[HOST]["train"]["digest"]


@pytest.mark.parametrize(
    "params",
    [
        {"method": "random", "count": 100, "seed": 3},
        {"method": "random", "fraction": 0.3},
        {"method": "stratified", "class_fractions": {0: 1.0, 1: 0.2}, "seed": 5},
    ],
)
def test_sample_sizes_and_alignment(computing: Any, params: dict[str, Any]) -> None:
    results = _run(computing, SAMPLE, params, *BREAST)
    guest, host = results[GUEST]["data"], results[HOST]["data"]
    assert guest["digest"] == host["digest"] and guest["partitions"] == host["partitions"]
    if params["method"] == "random":
        assert guest["rows"] == params.get("count", round(0.3 * 569))
    else:
        assert guest["labels"].count(0) == 212 and guest["labels"].count(1) == round(0.2 * 357)


def test_a_misaligned_host_fails_every_party(computing: Any, tmp_path: Path) -> None:
    guest, host = tmp_path / "g.csv", tmp_path / "h.csv"
    guest.write_text("id,y,x\n" + "".join(f"u{i},{i % 2},{i}\n" for i in range(20)))
    host.write_text("id,z\n" + "".join(f"u{i},{i}\n" for i in range(5, 25)))

    def party(ctx: Context) -> Any:
        data = _read(ctx, guest, host)
        try:
            return DATA_SPLIT.runners[ctx.role](ctx.sub("s"), DATA_SPLIT.params(), {"data": data})
        except ProtocolViolationError as exc:
            return exc

    results = run_parties(party, ROLES, computing=computing)
    assert "not aligned" in str(results[GUEST])
    assert "not aligned" in str(results[HOST])


def test_bad_split_sizes_are_refused_on_every_party(computing: Any) -> None:
    params = {"train_size": 0.7, "test_size": 0.5}

    def party(ctx: Context) -> Any:
        data = _read(ctx, *BREAST)
        try:
            return DATA_SPLIT.runners[ctx.role](
                ctx.sub("s"), DATA_SPLIT.params(**params), {"data": data}
            )
        except (InvalidInputError, ProtocolViolationError) as exc:
            return exc

    results = run_parties(party, ROLES, computing=computing)
    assert "ask for 682 rows, but the data has 569" in str(results[GUEST])
    assert "InvalidInputError on the guest" in str(results[HOST])
    with pytest.raises(ValidationError, match="exactly one of fraction and count"):
        SAMPLE.params(method="random", fraction=0.1, count=3)
