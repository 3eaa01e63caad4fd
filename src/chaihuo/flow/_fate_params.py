"""FATE 1.x module parameters → chaihuo component parameters, noting what has no counterpart."""

# One mapper per FATE module. A mapper sees one party's FATE parameters (the common block
# overridden by that party's role block, as FATE-Flow merges them) and returns chaihuo
# parameters; whatever it cannot carry over it notes with the path where the setting was
# made. Where FATE's default differs from chaihuo's (hetero LR: alpha 1.0, rmsprop, learning
# rate 0.01, 100 iterations, random-uniform init; the data transform's int label) the FATE
# default is written out, so the translated job trains as the FATE job would have.

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from chaihuo.components import ComponentSpec
from chaihuo.core import Role
from chaihuo.flow._dsl import JobInvalidError

__all__ = ["MODULES", "FateParams", "MapContext", "Module"]


@dataclass
class FateParams:
    """One party's merged FATE parameters of one component, and where each key was set."""

    values: dict[str, Any]
    paths: dict[str, str]
    base: str

    def where(self, key: str) -> str:
        """The conf path of `key` (its common-block path when the conf does not set it)."""
        return self.paths.get(key, f"{self.base}.{key}")


@dataclass
class MapContext:
    """What a mapper may consult and record: the party, the chaihuo spec, notes, security."""

    role: Role
    party: str
    spec: ComponentSpec
    notes: dict[str, None]
    security: dict[str, Any] = field(default_factory=dict)
    predicting: bool = False

    def note(self, path: str, reason: str) -> None:
        """Record a setting that could not be mapped (each text once)."""
        self.notes.setdefault(f"{path}: {reason}")

    def accepts(self, params: Mapping[str, Any]) -> bool:
        """Whether the chaihuo spec's parameter model validates `params` as given."""
        try:
            self.spec.params.model_validate(dict(params))
        except ValidationError:
            return False
        return True


Mapper = Callable[[FateParams, MapContext], dict[str, Any]]


@dataclass(frozen=True)
class Module:
    """A FATE module's chaihuo counterpart: component, outputs by FATE kind, mapper."""

    fate: str
    component: str
    outputs: Mapping[str, str]
    mapper: Mapper


_NO_COUNTERPART = "no chaihuo counterpart; left out"


def _rest(p: FateParams, ctx: MapContext, handled: set[str], harmless: Mapping[str, Any]) -> None:
    """Note every key neither mapped nor set to a value that needs no mapping."""
    for key, value in p.values.items():
        if key in handled or key == "need_run":
            continue
        if key in harmless and value in _as_tuple(harmless[key]):
            continue
        ctx.note(p.where(key), _NO_COUNTERPART)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


# -- reader and data transform ------------------------------------------------------------


def map_reader(p: FateParams, ctx: MapContext) -> dict[str, Any]:
    """Reader `table: {name, namespace}` → `table: namespace/name`, else `path:` and a note."""
    table = p.values.get("table")
    if not isinstance(table, Mapping) or not {"name", "namespace"} <= set(table):
        raise JobInvalidError(
            f"{p.where('table')}: the reader of {ctx.role.value} party {ctx.party} needs "
            "table: {name, namespace}"
        )
    ref = f"{table['namespace']}/{table['name']}"
    _rest(p, ctx, {"table"}, {})
    if "table" in ctx.spec.params.model_fields and ctx.accepts({"table": ref}):
        return {"table": ref}
    ctx.note(
        p.where("table"),
        f"chaihuo's reader reads files here: path set to {ref!r}; point it at the CSV or "
        "Parquet file holding that table",
    )
    return {"path": ref}


_INT_LABELS = {"int", "int64", "int32", "long"}
_FLOAT_LABELS = {"float", "float64", "float32", "double"}
_TRANSFORM_HARMLESS = {
    "output_format": "dense",
    "input_format": "dense",
    "delimitor": ",",
    "data_type": ("float64", "float", "double", "int", "int64"),
    "tag_with_value": False,
    "tag_value_delimitor": ":",
    "outlier_replace": False,
    "outlier_replace_method": None,
    "outlier_impute": None,
    "outlier_replace_value": 0,
    "missing_impute": None,
    "exclusive_data_type": None,
    "with_match_id": False,
    "match_id_name": None,
    "match_id_index": 0,
    "with_sample_id": False,
}


def map_data_transform(p: FateParams, ctx: MapContext) -> dict[str, Any]:
    """DataIO / DataTransform → the reader's label, label typing and missing-value fill."""
    values = p.values
    out: dict[str, Any] = {}
    if values.get("with_label", False):
        out["label"] = values.get("label_name", "y")
        label_type = str(values.get("label_type", "int")).lower()
        if label_type in _INT_LABELS:
            out["label_type"] = "int"
        elif label_type in _FLOAT_LABELS:
            out["label_type"] = "float"
        else:
            ctx.note(
                p.where("label_type"), "chaihuo labels are numbers; label type left to the file"
            )
    out.update(_fill(p, ctx))
    _rest(p, ctx, {"with_label", "label_name", "label_type", "missing_fill",
                   "missing_fill_method", "default_value"}, _TRANSFORM_HARMLESS)  # fmt: skip
    return out


def _fill(p: FateParams, ctx: MapContext) -> dict[str, Any]:
    if not p.values.get("missing_fill", False):
        return {}
    method = p.values.get("missing_fill_method")
    method = "designated" if method is None else str(method).lower()
    if method in ("mean", "median"):
        return {"missing_fill": method}
    if method != "designated":
        ctx.note(p.where("missing_fill_method"), f"{method!r} fill: {_NO_COUNTERPART}")
        return {}
    value = p.values.get("default_value", 0)
    if not isinstance(value, int | float) or isinstance(value, bool):
        ctx.note(p.where("default_value"), "chaihuo fills every column with one constant")
        return {}
    return {"missing_fill": "zero"} if value == 0 else {"missing_fill": "constant",
                                                         "fill_value": float(value)}  # fmt: skip


# -- intersection ---------------------------------------------------------------------------

_PSI_METHODS = {"rsa": "rsa", "dh": "ecdh", "ecdh": "ecdh"}


def map_intersection(p: FateParams, ctx: MapContext) -> dict[str, Any]:
    """intersect_method → protocol (raw and dh become ECDH); sync_intersect_ids → hosts' copy."""
    out: dict[str, Any] = {}
    if "intersect_method" in p.values:
        method = str(p.values["intersect_method"]).lower()
        out["protocol"] = _PSI_METHODS.get(method, "ecdh")
        if method not in _PSI_METHODS:
            ctx.note(
                p.where("intersect_method"),
                f"{method!r} is not offered (raw intersection exposes hashed ids): chaihuo "
                "runs ECDH PSI",
            )
    if "sync_intersect_ids" in p.values:
        out["share_with_hosts"] = bool(p.values["sync_intersect_ids"])
    _rest(p, ctx, {"intersect_method", "sync_intersect_ids"},
          {"only_output_key": False, "join_role": "guest", "cardinality_only": False})  # fmt: skip
    return out


# -- vertical GLMs --------------------------------------------------------------------------

_OPTIMIZERS = {"sgd", "rmsprop", "adam", "adagrad"}
_GLM_HANDLED = {
    "penalty", "tol", "alpha", "optimizer", "batch_size", "learning_rate", "max_iter",
    "early_stop", "decay", "decay_sqrt", "init_param", "encrypt_param", "cv_param",
    "multi_class", "early_stopping_rounds", "floating_point_precision", "predict_param",
    "callback_param", "exposure_colname", "shuffle", "sqn_param", "random_seed",
}  # fmt: skip
_GLM_HARMLESS = {
    "validation_freqs": (None, 1),
    "metrics": (None, []),
    "use_first_metric_only": False,
    "is_warm_start": False,
    "stepwise_param": ({}, {"need_stepwise": False}),
    "encrypted_mode_calculator_param": ({}, {"mode": "strict"}, {"mode": "fast"}),
    "batch_strategy": "full",
}


def _glm(defaults: Mapping[str, Any], *, logistic: bool = False) -> Mapper:
    def mapper(p: FateParams, ctx: MapContext) -> dict[str, Any]:
        if ctx.predicting:  # a model and data to score: the training settings do not apply
            predict = p.values.get("predict_param")
            threshold = predict.get("threshold") if isinstance(predict, Mapping) else None
            return {"predict_only": True} | ({} if threshold is None else {"threshold": threshold})
        v = {**defaults, **p.values}
        penalty = v["penalty"]
        out: dict[str, Any] = {
            "penalty": "none" if penalty is None else str(penalty).lower(),
            "tol": v["tol"], "alpha": v["alpha"], "batch_size": v["batch_size"],
            "learning_rate": v["learning_rate"], "epochs": v["max_iter"],
            "early_stop": str(v["early_stop"]).lower(), "decay": v["decay"],
        }  # fmt: skip
        out["optimizer"] = _optimizer(str(v["optimizer"]).lower(), p, ctx)
        if v["decay_sqrt"] and v["decay"]:
            where = p.where("decay_sqrt")
            if "decay_sqrt" not in p.values:
                where += " (FATE default true)"
            ctx.note(where, "chaihuo decays lr/(1+decay·t), not lr/sqrt(1+decay·t)")
        out.update(_init(v.get("init_param") or {}, p, ctx))
        for key in ("early_stopping_rounds", "exposure_colname", "shuffle", "random_seed"):
            if v.get(key) is not None:
                out[key] = v[key]
        if isinstance(v.get("predict_param"), Mapping) and "threshold" in v["predict_param"]:
            out["threshold"] = v["predict_param"]["threshold"]
        out.update(_callback(v.get("callback_param"), p, ctx))
        _encrypt(v.get("encrypt_param"), p, ctx)
        _glm_notes(v, p, ctx, out)
        _rest(p, ctx, _GLM_HANDLED, _GLM_HARMLESS)
        # FATE's training as FATE runs it: raw columns, intercept from 0, Taylor sigmoid at 0
        # (chaihuo's defaults standardise, start from the labels and, for hetero_lr, expand
        # the sigmoid at the guest's score; drop these keys from the job to get them).
        out |= {"standardize": False, "intercept_init": "zero"}
        if logistic:
            out["sigmoid"] = "taylor"
        return out

    return mapper


def _optimizer(name: str, p: FateParams, ctx: MapContext) -> str:
    if name in _OPTIMIZERS:
        return name
    ctx.note(p.where("optimizer"), f"{name!r} has no chaihuo counterpart: sgd used")
    return "sgd"


def _init(init: Mapping[str, Any], p: FateParams, ctx: MapContext) -> dict[str, Any]:
    method = str(init.get("init_method", "random_uniform")).lower()
    out: dict[str, Any] = {"fit_intercept": bool(init.get("fit_intercept", True))}
    if method == "zeros":
        out["init_method"] = "zeros"
    elif method in ("random_uniform", "random_normal"):
        out["init_method"] = "random"
        if method == "random_normal":
            ctx.note(p.where("init_param") + ".init_method", "chaihuo's random init is uniform")
    else:
        out["init_method"] = "zeros"
        ctx.note(f"{p.where('init_param')}.init_method", f"{method!r}: chaihuo starts from zeros")
    if init.get("random_seed") is not None:
        out["random_seed"] = init["random_seed"]
    return out


def _callback(callback: Any, p: FateParams, ctx: MapContext) -> dict[str, Any]:
    if not isinstance(callback, Mapping):
        return {}
    out = {}
    if callback.get("early_stopping_rounds") is not None:
        out["early_stopping_rounds"] = callback["early_stopping_rounds"]
    for key in sorted(set(callback) - {"early_stopping_rounds", "callbacks"}):
        if key not in _GLM_HARMLESS or callback[key] not in _as_tuple(_GLM_HARMLESS[key]):
            ctx.note(f"{p.where('callback_param')}.{key}", _NO_COUNTERPART)
    return out


def _encrypt(encrypt: Any, p: FateParams, ctx: MapContext) -> None:
    if not isinstance(encrypt, Mapping):
        return
    method = str(encrypt.get("method", "Paillier")).lower()
    bits = encrypt.get("key_length", 1024)
    if method == "paillier" and isinstance(bits, int) and bits >= 2048:
        ctx.security["paillier_bits"] = max(bits, ctx.security.get("paillier_bits", 0))
        return
    ctx.note(p.where("encrypt_param"), "chaihuo always uses Paillier ≥ 2048 bits")


def _glm_notes(v: Mapping[str, Any], p: FateParams, ctx: MapContext, out: Any) -> None:
    if "cv_param" in p.values:
        cv = v["cv_param"] if isinstance(v["cv_param"], Mapping) else {}
        effect = "the job trains once" if cv.get("need_cv") else "need_cv is false: no effect"
        ctx.note(p.where("cv_param"), f"chaihuo has no cross-validation ({effect})")
    if "sqn_param" in p.values:
        ctx.note(p.where("sqn_param"), "chaihuo has no stochastic quasi-Newton optimizer")
    if str(v.get("multi_class", "ovr")).lower() != "ovr":
        ctx.note(p.where("multi_class"), "chaihuo trains one-vs-rest for more than two classes")
    fpp = p.values.get("floating_point_precision")
    if isinstance(fpp, int) and 4 <= fpp <= 40:
        out["floating_point_precision"] = fpp
    elif "floating_point_precision" in p.values:
        ctx.note(p.where("floating_point_precision"), "chaihuo takes 4 to 40 bits; default kept")


_LR_DEFAULTS = {
    "penalty": "L2", "tol": 1e-4, "alpha": 1.0, "optimizer": "rmsprop", "batch_size": -1,
    "learning_rate": 0.01, "max_iter": 100, "early_stop": "diff", "decay": 1,
    "decay_sqrt": True,
}  # fmt: skip
_LINR_DEFAULTS = {**_LR_DEFAULTS, "optimizer": "sgd", "max_iter": 20}
_POISSON_DEFAULTS = {**_LR_DEFAULTS, "optimizer": "sgd", "tol": 1e-5}


# -- SecureBoost ------------------------------------------------------------------------------

_TREE_KEYS = {
    "max_depth": "max_depth", "min_sample_split": "min_samples_split",
    "min_leaf_node": "min_samples_leaf", "min_impurity_split": "min_gain",
    "min_child_weight": "min_child_weight",
}  # fmt: skip
_TREE_DEFAULTS = {"max_depth": 3, "min_sample_split": 2, "min_leaf_node": 1,
                  "min_impurity_split": 1e-3, "min_child_weight": 0}  # fmt: skip
_BOOST_HARMLESS = {
    "tol": 1e-4, "n_iter_no_change": True,
    "zero_as_missing": False, "sparse_optimization": False, "validation_freqs": None,
    "metrics": None, "use_first_metric_only": False,
    "cipher_compress_error": None, "cipher_compress": True, "new_ver": True,
    "boosting_strategy": "std", "EINI_inference": (False, True),
    "encrypted_mode_calculator_param": None, "predict_param": None, "cv_param": None,
}  # fmt: skip


def map_secureboost(p: FateParams, ctx: MapContext) -> dict[str, Any]:
    """HeteroSecureBoost: trees, depth, bins, rate, λ (criterion_params), the tree limits,
    the objective; FATE's defaults written out (λ 0.1, min gain 1e-3, min child weight 0)."""
    v = p.values
    if ctx.predicting:  # a model and data to score
        return {"predict_only": True}
    out: dict[str, Any] = {
        "num_trees": v.get("num_trees", 5), "learning_rate": v.get("learning_rate", 0.3),
        "max_bin": v.get("bin_num", 32),
    }  # fmt: skip
    tree: Mapping[str, Any] = v["tree_param"] if isinstance(v.get("tree_param"), Mapping) else {}
    for fate_key, key in _TREE_KEYS.items():
        out[key] = tree.get(fate_key, _TREE_DEFAULTS[fate_key])
    criterion = tree.get("criterion_params", [0.1])
    if isinstance(criterion, list) and criterion:
        out["l2"] = criterion[0]
        if len(criterion) > 1:
            out["l1"] = criterion[1]
    task = str(v.get("task_type", "classification")).lower()
    raw = v.get("objective_param")
    objective: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    name = str(objective.get("objective", "cross_entropy" if task == "classification" else "lse"))
    if task == "regression" and name.lower() == "lse":
        out["objective"] = "reg:squarederror"
    elif task == "classification" and name.lower() == "cross_entropy":
        out["objective"] = "binary:logistic"
    else:
        ctx.note(p.where("objective_param"), f"objective {name!r} ({task}): {_NO_COUNTERPART}")
    for key in ("use_missing", "complete_secure", "run_goss"):
        if v.get(key):
            out[key] = True
    if v.get("run_goss"):
        out["top_rate"], out["other_rate"] = v.get("top_rate", 0.2), v.get("other_rate", 0.1)
    if v.get("subsample_feature_rate", 1.0) != 1.0:
        out["colsample_bytree"] = v["subsample_feature_rate"]
    for key in ("random_seed", "early_stopping_rounds"):
        if v.get(key) is not None:
            out[key] = v[key]
    _encrypt(v.get("encrypt_param"), p, ctx)
    for key in sorted(set(tree) - set(_TREE_KEYS) - {"criterion_method", "criterion_params"}):
        ctx.note(f"{p.where('tree_param')}.{key}", _NO_COUNTERPART)
    handled = {"num_trees", "learning_rate", "bin_num", "tree_param", "task_type",
               "objective_param", "encrypt_param", "use_missing", "complete_secure",
               "subsample_feature_rate", "random_seed", "run_goss", "top_rate",
               "other_rate", "early_stopping_rounds"}  # fmt: skip
    _rest(p, ctx, handled, _BOOST_HARMLESS)
    return out


# -- evaluation and the secure-add example ---------------------------------------------------

_METRICS = {
    "mean_absolute_error": "mae", "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse", "median_absolute_error": "median_ae",
    "r2_score": "r2", "f1_score": "f1", "confusion_mat": "confusion_matrix",
}  # fmt: skip


def map_evaluation(p: FateParams, ctx: MapContext) -> dict[str, Any]:
    """pos_label and metrics; eval_type is inferred by chaihuo from the predictions."""
    out: dict[str, Any] = {}
    eval_type = str(p.values.get("eval_type", "binary")).lower()
    if eval_type not in ("binary", "multi", "regression"):
        ctx.note(p.where("eval_type"), f"{eval_type!r} evaluation: {_NO_COUNTERPART}")
    if p.values.get("pos_label") is not None:
        out["pos_label"] = p.values["pos_label"]
    metrics = p.values.get("metrics")
    if metrics:
        wanted = [_METRICS.get(str(m).lower(), str(m).lower()) for m in metrics]
        known = [m for m in wanted if ctx.accepts({"metrics": [m]})]
        if known:
            out["metrics"] = known
        for metric in sorted(set(wanted) - set(known)):
            ctx.note(p.where("metrics"), f"metric {metric!r}: {_NO_COUNTERPART}")
    _rest(p, ctx, {"eval_type", "pos_label", "metrics"}, {"unfold_multi_result": False})
    return out


def map_secure_add(p: FateParams, ctx: MapContext) -> dict[str, Any]:
    """SecureAddExample: data_num, partition (FATE default 1), seed; FATE adds ones."""
    out: dict[str, Any] = {
        "data_num": p.values.get("data_num", 1000),
        "partition": p.values.get("partition", 1),
        "seed": p.values.get("seed") if p.values.get("seed") is not None else 0,
    }
    if ctx.accepts({**out, "values": "ones"}):
        out["values"] = "ones"  # FATE's example sums data_num ones per party
    else:
        ctx.note(
            p.where("data_num"),
            "FATE's SecureAddExample adds data_num ones per party (2 × data_num in all); "
            "chaihuo's secure_add adds numbers drawn from each party's seed and checks them "
            "against their plaintext sum",
        )
    _rest(p, ctx, {"data_num", "partition", "seed"}, {})
    return out


_GLM_OUTPUTS = {"data": "predictions", "model": "model"}

MODULES: dict[str, Module] = {
    module.fate.lower(): module
    for module in (
        Module("Reader", "reader", {"data": "data"}, map_reader),
        Module("DataIO", "reader", {"data": "data"}, map_data_transform),
        Module("DataTransform", "reader", {"data": "data"}, map_data_transform),
        Module("Intersection", "psi", {"data": "data"}, map_intersection),
        Module("HeteroLR", "hetero_lr", _GLM_OUTPUTS, _glm(_LR_DEFAULTS, logistic=True)),
        Module("HeteroLinR", "hetero_linr", _GLM_OUTPUTS, _glm(_LINR_DEFAULTS)),
        Module("HeteroPoisson", "hetero_poisson", _GLM_OUTPUTS, _glm(_POISSON_DEFAULTS)),
        Module("HeteroSecureBoost", "hetero_secureboost", _GLM_OUTPUTS, map_secureboost),
        Module("Evaluation", "evaluation", {"data": "report"}, map_evaluation),
        Module("SecureAddExample", "secure_add", {}, map_secure_add),
    )
}
"""FATE module name, lower-cased (FATE-Flow matches names exactly; this is forgiving) → its
chaihuo counterpart."""
