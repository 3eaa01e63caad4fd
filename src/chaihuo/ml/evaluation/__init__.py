"""Model evaluation: binary, multi-class and regression metrics, reports and PNG figures."""

from chaihuo.ml.evaluation._binary import (
    BinaryConfusion,
    LiftGainRow,
    RocCurve,
    binarize,
    confusion_at,
    ks_statistic,
    lift_gain,
    roc_auc,
    roc_curve,
)
from chaihuo.ml.evaluation._common import EvaluationError
from chaihuo.ml.evaluation._multiclass import MulticlassReport, multiclass_metrics, ovr_auc
from chaihuo.ml.evaluation._plots import Figure, loss_figure, roc_figure
from chaihuo.ml.evaluation._regression import REGRESSION_METRICS, regression_metrics
from chaihuo.ml.evaluation._report import (
    ALL_METRICS,
    DEFAULT_METRICS,
    KIND_METRICS,
    EvaluationResult,
    evaluate,
)

__all__ = [
    "ALL_METRICS",
    "DEFAULT_METRICS",
    "KIND_METRICS",
    "REGRESSION_METRICS",
    "BinaryConfusion",
    "EvaluationError",
    "EvaluationResult",
    "Figure",
    "LiftGainRow",
    "MulticlassReport",
    "RocCurve",
    "binarize",
    "confusion_at",
    "evaluate",
    "ks_statistic",
    "lift_gain",
    "loss_figure",
    "multiclass_metrics",
    "ovr_auc",
    "regression_metrics",
    "roc_auc",
    "roc_curve",
    "roc_figure",
]
