"""Evaluation figures (ROC, loss curve) rendered to PNG bytes with matplotlib's Agg canvas."""

# Rendering goes through an explicit `FigureCanvasAgg` on a bare `matplotlib.figure.Figure`:
# no pyplot, no global backend switch, no shared state, so plots are safe in the worker's
# role threads and headless machines. matplotlib is imported only when a figure is drawn.

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chaihuo.core import InvalidInputError
from chaihuo.ml.evaluation._binary import RocCurve

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["Figure", "loss_figure", "roc_figure"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Figure:
    """A rendered PNG; the worker writes it next to the component's other outputs."""

    png: bytes
    title: str = ""

    def __post_init__(self) -> None:
        if not self.png.startswith(_PNG_MAGIC):
            raise InvalidInputError("Figure holds PNG bytes only", title=self.title)

    def save(self, directory: Path, name: str) -> Path:
        """Write `<name>.png` into `directory`."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.png"
        path.write_bytes(self.png)
        return path


def _render(title: str, draw: Callable[[Axes], None]) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415 - lazy, heavy
    from matplotlib.figure import Figure as MplFigure  # noqa: PLC0415 - lazy, heavy

    figure = MplFigure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(figure)  # the non-interactive Agg backend, chosen explicitly
    axes = figure.add_subplot()
    draw(axes)
    axes.set_title(title)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return Figure(buffer.getvalue(), title)


def roc_figure(
    curves: Mapping[str, tuple[RocCurve, float | None]], title: str = "ROC curve"
) -> Figure:
    """One ROC line per named model (its label shows the AUC if given) over the diagonal."""
    if not curves:
        raise InvalidInputError("a ROC figure needs at least one curve")

    def draw(axes: Axes) -> None:
        axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="chance")
        for name, (curve, auc) in curves.items():
            label = name if auc is None else f"{name} (AUC = {auc:.4f})"
            axes.plot(curve.fpr, curve.tpr, linewidth=1.5, label=label)
        axes.set_xlim(0.0, 1.0)
        axes.set_ylim(0.0, 1.0)
        axes.set_xlabel("false positive rate")
        axes.set_ylabel("true positive rate")
        axes.legend(loc="lower right")

    return _render(title, draw)


def loss_figure(
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]], title: str = "loss"
) -> Figure:
    """One line per named (steps, values) series, e.g. training and validation loss."""
    if not series:
        raise InvalidInputError("a loss figure needs at least one series")

    def draw(axes: Axes) -> None:
        from matplotlib.ticker import MaxNLocator  # noqa: PLC0415 - lazy, heavy

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        for name, (steps, values) in series.items():
            marker = "o" if len(values) <= 30 else None
            axes.plot(steps, values, marker=marker, markersize=3, linewidth=1.5, label=name)
        axes.set_xlabel("step")
        axes.set_ylabel("loss")
        axes.legend(loc="upper right")

    return _render(title, draw)
