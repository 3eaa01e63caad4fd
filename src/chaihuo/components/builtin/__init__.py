"""The components chaihuo ships, gathered into the default registry."""

from chaihuo.components._spec import ComponentSpec, Registry
from chaihuo.components.builtin._data_split import DATA_SPLIT
from chaihuo.components.builtin._evaluation import EVALUATION
from chaihuo.components.builtin._feature_scale import FEATURE_SCALE
from chaihuo.components.builtin._hetero_feature_binning import HETERO_FEATURE_BINNING
from chaihuo.components.builtin._hetero_feature_selection import HETERO_FEATURE_SELECTION
from chaihuo.components.builtin._hetero_linr import HETERO_LINR
from chaihuo.components.builtin._hetero_lr import HETERO_LR
from chaihuo.components.builtin._hetero_poisson import HETERO_POISSON
from chaihuo.components.builtin._hetero_secureboost import HETERO_SECUREBOOST
from chaihuo.components.builtin._hetero_sshe_lr import HETERO_SSHE_LR
from chaihuo.components.builtin._homo_lr import HOMO_LR
from chaihuo.components.builtin._homo_nn import HOMO_NN
from chaihuo.components.builtin._homo_secureboost import HOMO_SECUREBOOST
from chaihuo.components.builtin._millionaires import MILLIONAIRES
from chaihuo.components.builtin._one_hot import ONE_HOT
from chaihuo.components.builtin._psi import PSI
from chaihuo.components.builtin._reader import READER
from chaihuo.components.builtin._sample import SAMPLE
from chaihuo.components.builtin._secure_add import SECURE_ADD
from chaihuo.components.builtin._secure_aggregate import SECURE_AGGREGATE
from chaihuo.components.builtin._statistics import STATISTICS

__all__ = ["BUILTIN_SPECS", "default_registry"]

BUILTIN_SPECS: tuple[ComponentSpec, ...] = (
    READER,
    PSI,
    SECURE_ADD,
    SECURE_AGGREGATE,
    MILLIONAIRES,
    DATA_SPLIT,
    SAMPLE,
    FEATURE_SCALE,
    STATISTICS,
    ONE_HOT,
    HETERO_FEATURE_BINNING,
    HETERO_FEATURE_SELECTION,
    HETERO_LR,
    HETERO_LINR,
    HETERO_POISSON,
    HETERO_SSHE_LR,
    HETERO_SECUREBOOST,
    HOMO_LR,
    HOMO_NN,
    HOMO_SECUREBOOST,
    EVALUATION,
)


def default_registry() -> Registry:
    """A fresh registry holding every built-in component."""
    return Registry(list(BUILTIN_SPECS))
