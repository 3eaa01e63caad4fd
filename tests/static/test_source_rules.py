"""Static checks over src/: crypto randomness (R22), no code-loading deserialisation (R01)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "chaihuo"
CRYPTO = SRC / "crypto"
CODE_LOADING = {"pickle", "cPickle", "cloudpickle", "dill", "marshal", "shelve", "joblib"}
MAX_MODULE_LINES = 500


def _modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("path", _modules(CRYPTO), ids=lambda p: str(p.relative_to(SRC)))
def test_crypto_never_uses_non_cryptographic_randomness(path: Path) -> None:
    imported = _imported_names(path)
    offending = {
        name
        for name in imported
        if name == "random" or name.startswith(("random.", "numpy.random"))
    }
    assert not offending, f"{path} imports {offending}: secrets must come from `secrets`"
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute) and node.attr == "random":
            base = node.value
            assert not (isinstance(base, ast.Name) and base.id in {"np", "numpy"}), (
                f"{path}:{node.lineno} uses numpy.random"
            )


@pytest.mark.parametrize("path", _modules(SRC), ids=lambda p: str(p.relative_to(SRC)))
def test_no_code_loading_deserialisation_outside_computing(path: Path) -> None:
    if "computing" in path.relative_to(SRC).parts:
        return
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = {name.split(".")[0] for name in _imported_names(path)}
    assert not roots & CODE_LOADING, f"{path} imports {roots & CODE_LOADING}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"eval", "exec"}, (
                f"{path}:{node.lineno} calls {node.func.id}"
            )
        if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            assert not (isinstance(node.value, ast.Constant) and node.value.value is True), path


@pytest.mark.parametrize("path", _modules(SRC), ids=lambda p: str(p.relative_to(SRC)))
def test_modules_are_small_and_open_with_a_docstring(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES, f"{path} is over {MAX_MODULE_LINES} lines"
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring, f"{path} has no module docstring"
    assert "\n" not in docstring.strip(), f"{path}: the module docstring is one line"
