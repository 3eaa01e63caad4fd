"""Progress reports: throttled per stage, final always kept, rate and eta, JSONL, listeners."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chaihuo.components.builtin import default_registry
from chaihuo.core import InvalidInputError, Role
from chaihuo.federation import Party
from chaihuo.runtime import Context, MetricsSink, ProgressRecord
from chaihuo.testing import run_parties


class Clock:
    """A clock the test moves by hand (no timed assertions)."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _kept(sink: MetricsSink) -> list[tuple[str, int, int | None]]:
    return [(r.stage, r.done, r.total) for r in sink.progress_records()]


def test_reports_of_one_stage_are_throttled_to_one_per_second() -> None:
    clock = Clock()
    sink = MetricsSink(clock=clock)
    for at, done in [(0.0, 0), (0.5, 10), (0.99, 20), (1.0, 30), (1.5, 40), (2.2, 50)]:
        clock.now = 100.0 + at
        sink.progress("psi_0", "blind", done, 100)
    assert _kept(sink) == [("blind", 0, 100), ("blind", 30, 100), ("blind", 50, 100)]


def test_stages_and_namespaces_are_throttled_separately() -> None:
    clock = Clock()
    sink = MetricsSink(clock=clock)
    sink.progress("psi_0", "blind", 0, 10)
    sink.progress("psi_0", "exchange", 0, 10)
    sink.progress("psi_1", "blind", 0, 10)
    sink.progress("psi_0", "blind", 5, 10)
    assert [(r.namespace, r.stage, r.done) for r in sink.progress_records()] == [
        ("psi_0", "blind", 0),
        ("psi_0", "exchange", 0),
        ("psi_1", "blind", 0),
    ]


def test_the_final_report_is_always_kept() -> None:
    clock = Clock()
    sink = MetricsSink(clock=clock)
    sink.progress("lr_0", "epoch", 0, 3)
    sink.progress("lr_0", "epoch", 1, 3)  # same instant: throttled
    sink.progress("lr_0", "epoch", 3, 3)  # same instant, but final
    records = sink.progress_records()
    assert [(r.done, r.final) for r in records] == [(0, False), (3, True)]
    assert records[-1].eta == 0.0


def test_rate_counts_from_the_stage_first_report_and_eta_follows() -> None:
    clock = Clock()
    sink = MetricsSink(clock=clock)
    sink.progress("psi_0", "blind", 1000, 21_000)
    clock.now += 4.0
    sink.progress("psi_0", "blind", 5000, 21_000)
    first, second = sink.progress_records()
    assert (first.rate, first.eta) == (0.0, None)
    assert second.rate == pytest.approx(1000.0)
    assert second.eta == pytest.approx(16.0)
    clock.now += 2.0
    sink.progress("psi_0", "scan", 7, None)
    unknown = sink.progress_records()[-1]
    assert (unknown.total, unknown.eta) == (None, None)


def test_a_stage_that_starts_over_counts_its_rate_afresh() -> None:
    clock = Clock()
    sink = MetricsSink(clock=clock)
    sink.progress("lr_0", "batch", 0, 10)
    clock.now += 10.0
    sink.progress("lr_0", "batch", 10, 10)  # epoch 1 done
    clock.now += 5.0
    sink.progress("lr_0", "batch", 0, 10)  # epoch 2 starts
    clock.now += 2.0
    sink.progress("lr_0", "batch", 4, 10)
    last = sink.progress_records()[-1]
    assert last.done == 4
    assert last.rate == pytest.approx(2.0)
    assert last.eta == pytest.approx(3.0)


def test_progress_lines_are_marked_in_the_file_and_kept_out_of_metrics(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    sink = MetricsSink(path, clock=Clock())
    sink.log("psi_0", "intersection", 20)
    sink.progress("psi_0", "intersect", 60, 60)
    metric, progress = (json.loads(line) for line in path.read_text().splitlines())
    assert "kind" not in metric and metric["name"] == "intersection"
    assert progress["kind"] == "progress"
    assert {k: progress[k] for k in ("namespace", "stage", "done", "total", "eta")} == {
        "namespace": "psi_0",
        "stage": "intersect",
        "done": 60,
        "total": 60,
        "eta": 0.0,
    }
    assert set(progress) == {"kind", "namespace", "stage", "done", "total", "rate", "eta", "time"}
    assert sink.latest("psi_0") == {"intersection": 20.0}
    assert [r.name for r in sink.records()] == ["intersection"]


def test_listeners_hear_every_kept_record() -> None:
    clock = Clock()
    sink = MetricsSink(clock=clock)
    heard: list[ProgressRecord] = []
    sink.on_progress(heard.append)
    sink.progress("psi_0", "blind", 0, 8)
    sink.progress("psi_0", "blind", 4, 8)  # throttled: not heard
    sink.progress("psi_0", "blind", 8, 8)
    assert heard == sink.progress_records()
    assert [r.done for r in heard] == [0, 8]


def test_progress_records_filter_by_namespace() -> None:
    sink = MetricsSink(clock=Clock())
    sink.progress("lr_0.model.0", "epoch", 1, 1)
    sink.progress("lr_01", "epoch", 1, 1)
    assert [r.namespace for r in sink.progress_records("lr_0")] == ["lr_0.model.0"]


@pytest.mark.parametrize(
    ("stage", "done", "total"), [("", 0, 1), ("s", -1, 1), ("s", 3, 2), ("s", 1, -1)]
)
def test_malformed_reports_are_refused(stage: str, done: int, total: int | None) -> None:
    with pytest.raises(InvalidInputError):
        MetricsSink().progress("x", stage, done, total)


def test_context_reports_under_its_namespace() -> None:
    def party(ctx: Context) -> list[tuple[str, str, int, int | None]]:
        ctx.sub("psi_0").progress("blind", 0, 5)
        ctx.sub("psi_0").progress("blind", 5, 5)
        return [
            (r.namespace, r.stage, r.done, r.total) for r in ctx.metrics_sink.progress_records()
        ]

    result = run_parties(party, {"guest": 1})[Party(Role.GUEST, "1")]
    assert result == [("psi_0", "blind", 0, 5), ("psi_0", "blind", 5, 5)]


def test_the_psi_component_reports_its_stages(
    computing: Callable[[Party], Any], tmp_path: Path
) -> None:
    registry = default_registry()
    guest_csv, host_csv = tmp_path / "g.csv", tmp_path / "h.csv"
    guest_csv.write_text("id,y,x\n" + "".join(f"u{i},{i % 2},{i}\n" for i in range(200)))
    host_csv.write_text("id,z\n" + "".join(f"u{i},{i}\n" for i in range(50, 300)))

    def component(name: str, ctx: Context, params: dict[str, Any], **inputs: Any) -> Any:
        spec = registry.get(name)
        return spec.runners[ctx.role](ctx.sub(f"{name}_0"), spec.params(**params), inputs)

    def party(ctx: Context) -> dict[str, tuple[int, int | None]]:
        guest = ctx.role == Role.GUEST
        path, label = (guest_csv, "y") if guest else (host_csv, None)
        data = component("reader", ctx, {"path": str(path), "label": label})
        component("psi", ctx, {}, **data)
        return {r.stage: (r.done, r.total) for r in ctx.metrics_sink.progress_records("psi_0")}

    results = run_parties(party, {"guest": 1, "host": 2}, computing=computing)
    assert results[Party(Role.GUEST, "1")] == {
        "blind": (200, 200),
        "exchange": (250, 250),
        "intersect": (200, 200),
    }
    assert results[Party(Role.HOST, "2")] == {"blind": (250, 250), "exchange": (200, 200)}
