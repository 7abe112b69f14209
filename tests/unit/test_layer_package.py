"""The layer ships the runtime package, selected by package: the tools beside it depend on it, never the
other way round, and nothing the layer ships imports them (or scikit-learn, moto, the CDK)."""

from __future__ import annotations

import ast
from pathlib import Path

from infra.layer import PACKAGE_DIR, RUNTIME_PACKAGE, _package_files

SHARED = PACKAGE_DIR.parent
TOOL_PACKAGES = {"leadscore_cli", "leadscore_local"}
NEVER_ON_LAMBDA = {*TOOL_PACKAGES, "sklearn", "numpy", "scipy", "moto", "aws_cdk", "bench", "tests"}


def _imported_top_levels(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


def test_the_layer_ships_the_whole_runtime_package_and_nothing_else_of_shared() -> None:
    shipped = list(_package_files())
    assert {path.relative_to(SHARED).parts[0] for path in shipped} == {RUNTIME_PACKAGE}
    sources = {path for path in PACKAGE_DIR.rglob("*.py") if "__pycache__" not in path.parts}
    assert sources <= set(shipped)
    assert {"engine", "rules", "adapters", "console"} <= {
        path.relative_to(PACKAGE_DIR).parts[0] for path in shipped
    }


def test_nothing_the_layer_ships_imports_the_tools_beside_it() -> None:
    for path in _package_files():
        if path.suffix == ".py":
            assert not _imported_top_levels(path) & NEVER_ON_LAMBDA, path


def test_the_tools_live_beside_the_runtime_package_and_depend_on_it() -> None:
    for package in TOOL_PACKAGES:
        directory = SHARED / package
        assert (directory / "__init__.py").is_file()
        assert any(RUNTIME_PACKAGE in _imported_top_levels(path) for path in directory.rglob("*.py"))
    # The local stack never needs the command line.
    for path in (SHARED / "leadscore_local").rglob("*.py"):
        assert "leadscore_cli" not in _imported_top_levels(path), path
