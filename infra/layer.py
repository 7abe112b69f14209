"""The shared layer, built without Docker: pip's cross-platform wheels for arm64 Lambda plus our package.

``.build/layer/`` is mounted at /opt on Lambda:

- ``python/``: the runtime dependencies of pyproject.toml (boto3 excluded: the runtime has it), installed
  with ``pip --platform manylinux2014_aarch64 --python-version 3.13 --only-binary=:all:``, and the
  ``leadscore`` package without the local stack and the command line;
- ``rules.yaml``: the rule file (``leadscore.resources.LAYER_RULES_PATH``).

Two fingerprints, kept beside the directory, make a rebuild cheap: nothing is done when neither the
dependency list, the package sources nor the rule file changed, and pip only runs when the dependency list
did. A lock keeps two synthesizing processes from building at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path

from leadscore.resources import LAYER_RULES_PATH

REPO_ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = REPO_ROOT / "pyproject.toml"
PACKAGE_DIR = REPO_ROOT / "shared" / "leadscore"
BUILD_DIR = REPO_ROOT / ".build"
PYTHON_VERSION = "3.13"
PLATFORM = "manylinux2014_aarch64"
PIP_TARGET_OPTIONS = (
    "--platform",
    PLATFORM,
    "--python-version",
    PYTHON_VERSION,
    "--implementation",
    "cp",
    "--only-binary=:all:",
)
# What Lambda provides itself.
PROVIDED_BY_LAMBDA = frozenset({"boto3", "botocore"})
# Not needed on Lambda: the local stack (moto) and the command line.
LEFT_OUT = ("local", "cli.py", "cli_*.py", "__pycache__", "*.pyc")
RULES_NAME = Path(LAYER_RULES_PATH).name


def _distribution(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement.strip())
    if not match:
        raise ValueError(f"cannot read the requirement {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def runtime_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """``[project].dependencies`` of pyproject.toml, less what the Lambda runtime provides."""
    dependencies: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [
        requirement for requirement in dependencies if _distribution(requirement) not in PROVIDED_BY_LAMBDA
    ]


def _package_files() -> Iterator[Path]:
    for path in sorted(PACKAGE_DIR.rglob("*")):
        relative = path.relative_to(PACKAGE_DIR)
        if path.is_file() and not any(
            fnmatch(part, pattern) for part in relative.parts for pattern in LEFT_OUT
        ):
            yield path


def _sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def dependencies_fingerprint(requirements: list[str]) -> str:
    return _sha256(*(item.encode() for item in [*requirements, *PIP_TARGET_OPTIONS]))


def layer_fingerprint(dependencies: str, rules_file: Path) -> str:
    """Changes with the dependency list, any file of the package that is deployed, and the rule file."""
    package = [
        part
        for path in _package_files()
        for part in (str(path.relative_to(PACKAGE_DIR)).encode(), path.read_bytes())
    ]
    return _sha256(dependencies.encode(), *package, rules_file.read_bytes())


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip_install(requirements: list[str], target: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            *PIP_TARGET_OPTIONS,
            "--target",
            str(target),
            *requirements,
        ],
        check=True,
    )


def build_layer(rules_file: Path, build_dir: Path = BUILD_DIR) -> Path:
    """Assemble the layer directory (``build_dir/layer``) for ``rules_file`` and return it."""
    rules_file = rules_file.resolve(strict=True)
    requirements = runtime_requirements()
    dependencies = dependencies_fingerprint(requirements)
    fingerprint = layer_fingerprint(dependencies, rules_file)
    layer = build_dir / "layer"
    dependencies_marker = build_dir / "layer.dependencies.sha256"
    layer_marker = build_dir / "layer.sha256"
    with _locked(build_dir / "layer.lock"):
        if _read(layer_marker) == fingerprint and layer.is_dir():
            return layer
        layer_marker.unlink(missing_ok=True)
        if _read(dependencies_marker) != dependencies or not layer.is_dir():
            dependencies_marker.unlink(missing_ok=True)
            shutil.rmtree(layer, ignore_errors=True)
            _pip_install(requirements, layer / "python")
            shutil.rmtree(layer / "python" / "bin", ignore_errors=True)  # console scripts: unused on Lambda
            dependencies_marker.write_text(dependencies)
        package = layer / "python" / PACKAGE_DIR.name
        shutil.rmtree(package, ignore_errors=True)
        shutil.copytree(PACKAGE_DIR, package, ignore=shutil.ignore_patterns(*LEFT_OUT))
        shutil.copyfile(rules_file, layer / RULES_NAME)
        layer_marker.write_text(fingerprint)
    return layer


def _read(marker: Path) -> str | None:
    return marker.read_text() if marker.exists() else None
