"""What Lambda loads, built without Docker: the shared layer and each function's code, with bytecode.

``.build/layer/`` is mounted at /opt on Lambda:

- ``python/``: the runtime dependencies of pyproject.toml (boto3 excluded: the runtime has it), installed
  with ``pip --platform manylinux2014_aarch64 --python-version 3.13 --only-binary=:all:``, and the
  ``leadscore`` package without the local stack and the command line;
- ``rules.yaml``: the rule file (``leadscore.resources.LAYER_RULES_PATH``).
- ``openapi.json``: the API's document, docs/openapi.json (``leadscore.resources.LAYER_OPENAPI_PATH``).

``.build/functions/<name>/`` is what Lambda unpacks at /var/task: ``functions/<name>/`` without the
development interpreter's bytecode.

Both ship bytecode for the runtime's Python: every ``.py`` is compiled by a Python 3.13 interpreter
(``lambda_python``) into ``__pycache__/*.cpython-313.pyc``. Without it each cold start compiles every
module it imports (/opt and /var/task are read-only, so nothing is ever cached), which costs more than
the imports themselves. The pycs are *unchecked* hash-based ones (PEP 552): the deployment zip stores
every file with the same fixed timestamp, so timestamp-checked pycs would not match their sources and
would be ignored; checked hash-based ones would hash each source at every import. They are built from
the same sources in the same step, and the fingerprints below rebuild them whenever a source changes.
The paths recorded in them are the deployed ones (/opt/python, /var/task), so the assets are the same
bytes on every machine.

The interpreter is ``LEADSCORE_LAMBDA_PYTHON`` if set (an error if it is not a CPython 3.13), else
``python3.13`` on PATH, else the newest of pyenv's 3.13.* versions (the machines here have pyenv's
3.13.0). Where none is found, the layer and functions are built without bytecode and a
``NoBytecodeWarning`` says so: the stack still synthesizes, deploys and works, only its cold starts are
slower; the fingerprints record it, so the next build with an interpreter compiles everything.

Fingerprints, kept beside each directory, make a rebuild cheap: nothing is done when neither the
dependency list, the package sources, the rule file nor the bytecode's interpreter changed, and pip only
runs when the dependency list or the interpreter did. A lock keeps two synthesizing processes from
building at once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

from leadscore.openapi import OPENAPI_FILE
from leadscore.resources import LAYER_OPENAPI_PATH, LAYER_RULES_PATH

REPO_ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = REPO_ROOT / "pyproject.toml"
# The runtime package: the layer ships it and nothing else of shared/.
RUNTIME_PACKAGE = "leadscore"
PACKAGE_DIR = REPO_ROOT / "shared" / RUNTIME_PACKAGE
BUILD_DIR = REPO_ROOT / ".build"
PYTHON_VERSION = "3.13"
PLATFORM = "manylinux2014_aarch64"
# Where Lambda puts the layer's python/ and the function's code: the paths the pycs record.
LAYER_PYTHON_PATH = "/opt/python"
FUNCTION_PATH = "/var/task"
LAMBDA_PYTHON_VARIABLE = "LEADSCORE_LAMBDA_PYTHON"
# What Lambda provides itself.
PROVIDED_BY_LAMBDA = frozenset({"boto3", "botocore"})
# The development interpreter's bytecode: never shipped (the build compiles for the runtime's Python).
DEVELOPMENT_BYTECODE = ("__pycache__", "*.pyc")
RULES_NAME = Path(LAYER_RULES_PATH).name
NO_BYTECODE = "no bytecode"


class NoBytecodeWarning(UserWarning):
    """The layer and functions are built without bytecode: no Python 3.13 was found to compile them."""


def pip_target_options(platform: str = PLATFORM) -> tuple[str, ...]:
    return (
        "--platform",
        platform,
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--only-binary=:all:",
    )


PIP_TARGET_OPTIONS = pip_target_options()


@dataclass(frozen=True)
class Compiler:
    """A Python interpreter of the runtime's version, and what identifies the bytecode it writes."""

    python: Path
    cache_tag: str
    magic: str

    @property
    def fingerprint(self) -> str:
        """What the built pycs depend on besides the sources (not the interpreter's path)."""
        return f"{self.cache_tag} {self.magic} unchecked-hash"

    def compile(self, directory: Path, deployed_as: str) -> None:
        """Write ``__pycache__/*.<cache tag>.pyc`` beside every ``.py`` under ``directory``, recording
        each file's path as ``deployed_as`` + its path below ``directory``."""
        compiled = subprocess.run(
            [
                str(self.python),
                "-I",
                "-m",
                "compileall",
                "-q",
                "-j",
                "0",
                "--invalidation-mode",
                "unchecked-hash",
                "-d",
                deployed_as,
                str(directory),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if compiled.returncode != 0:
            raise RuntimeError(
                f"compiling {directory} for Lambda failed:\n{compiled.stdout}{compiled.stderr}"
            )


def _probe(python: Path) -> Compiler | None:
    try:
        answer = subprocess.run(
            [
                str(python),
                "-I",
                "-c",
                "import importlib.util, sys;"
                "print(sys.implementation.cache_tag, importlib.util.MAGIC_NUMBER.hex())",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    cache_tag, magic = answer
    if cache_tag != "cpython-" + PYTHON_VERSION.replace(".", ""):
        return None
    return Compiler(python, cache_tag, magic)


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in path.name.split("."))


def _candidates() -> Iterator[Path]:
    on_path = shutil.which(f"python{PYTHON_VERSION}")
    if on_path:
        yield Path(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = [
        version
        for version in (pyenv_root / "versions").glob(f"{PYTHON_VERSION}.*")
        if re.fullmatch(re.escape(PYTHON_VERSION) + r"\.\d+", version.name)  # not 3.13.0t (free-threaded)
    ]
    for version in sorted(versions, key=_version_key, reverse=True):
        yield version / "bin" / f"python{PYTHON_VERSION}"


@cache
def lambda_python() -> Compiler | None:
    """A CPython of the Lambda runtime's version (3.13) on this machine, or None."""
    named = os.environ.get(LAMBDA_PYTHON_VARIABLE)
    if named:
        compiler = _probe(Path(named))
        if compiler is None:
            raise RuntimeError(
                f"{LAMBDA_PYTHON_VARIABLE}={named} is not a CPython {PYTHON_VERSION} interpreter"
            )
        return compiler
    for candidate in _candidates():
        if candidate.is_file() and (compiler := _probe(candidate)) is not None:
            return compiler
    return None


def _bytecode_compiler() -> Compiler | None:
    compiler = lambda_python()
    if compiler is None:
        warnings.warn(
            f"No Python {PYTHON_VERSION} found ({LAMBDA_PYTHON_VARIABLE}, python{PYTHON_VERSION} on PATH, "
            f"pyenv): the layer and functions are built WITHOUT bytecode, so every cold start on Lambda "
            f"compiles what it imports. Install Python {PYTHON_VERSION} or set {LAMBDA_PYTHON_VARIABLE}.",
            NoBytecodeWarning,
            stacklevel=3,
        )
    return compiler


def _bytecode_fingerprint(compiler: Compiler | None) -> str:
    return compiler.fingerprint if compiler else NO_BYTECODE


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


def _deployed_files(source: Path) -> Iterator[Path]:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_file() and not any(
            fnmatch(part, pattern) for part in relative.parts for pattern in DEVELOPMENT_BYTECODE
        ):
            yield path


def _package_files() -> Iterator[Path]:
    return _deployed_files(PACKAGE_DIR)


def _sha256(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()


def _files_fingerprint(source: Path, files: Iterator[Path]) -> list[bytes]:
    return [part for path in files for part in (str(path.relative_to(source)).encode(), path.read_bytes())]


def dependencies_fingerprint(
    requirements: list[str], *, platform: str = PLATFORM, bytecode: str = NO_BYTECODE
) -> str:
    """Changes with the dependency list, the platform pip installs for and the bytecode's interpreter."""
    options = pip_target_options(platform)
    return _sha256(*(item.encode() for item in [*requirements, *options, bytecode]))


def layer_fingerprint(dependencies: str, rules_file: Path) -> str:
    """Changes with the dependencies' fingerprint (and so the bytecode's interpreter), any file of the
    package that is deployed, the rule file and the API document."""
    package = _files_fingerprint(PACKAGE_DIR, _package_files())
    return _sha256(dependencies.encode(), *package, rules_file.read_bytes(), OPENAPI_FILE.read_bytes())


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip_install(requirements: list[str], target: Path, platform: str) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            *pip_target_options(platform),
            "--target",
            str(target),
            *requirements,
        ],
        check=True,
    )


def build_layer(rules_file: Path, build_dir: Path = BUILD_DIR, *, platform: str = PLATFORM) -> Path:
    """Assemble the layer directory (``build_dir/layer``) for ``rules_file`` and return it.

    ``platform`` is pip's platform tag: Lambda's by default; the benchmarks build a twin for the machine
    they run on (its compiled wheels must load there)."""
    rules_file = rules_file.resolve(strict=True)
    compiler = _bytecode_compiler()
    requirements = runtime_requirements()
    dependencies = dependencies_fingerprint(
        requirements, platform=platform, bytecode=_bytecode_fingerprint(compiler)
    )
    fingerprint = layer_fingerprint(dependencies, rules_file)
    layer = build_dir / "layer"
    python = layer / "python"
    dependencies_marker = build_dir / "layer.dependencies.sha256"
    layer_marker = build_dir / "layer.sha256"
    with _locked(build_dir / "layer.lock"):
        if _read(layer_marker) == fingerprint and layer.is_dir():
            return layer
        layer_marker.unlink(missing_ok=True)
        package = python / PACKAGE_DIR.name
        if _read(dependencies_marker) != dependencies or not layer.is_dir():
            dependencies_marker.unlink(missing_ok=True)
            shutil.rmtree(layer, ignore_errors=True)
            _pip_install(requirements, python, platform)
            shutil.rmtree(python / "bin", ignore_errors=True)  # console scripts: unused on Lambda
            if compiler:
                compiler.compile(python, LAYER_PYTHON_PATH)
            dependencies_marker.write_text(dependencies)
        shutil.rmtree(package, ignore_errors=True)
        shutil.copytree(PACKAGE_DIR, package, ignore=shutil.ignore_patterns(*DEVELOPMENT_BYTECODE))
        if compiler:
            compiler.compile(package, f"{LAYER_PYTHON_PATH}/{package.name}")
        shutil.copyfile(rules_file, layer / RULES_NAME)
        shutil.copyfile(OPENAPI_FILE, layer / Path(LAYER_OPENAPI_PATH).name)
        layer_marker.write_text(fingerprint)
    return layer


def build_function(source: Path, build_dir: Path = BUILD_DIR) -> Path:
    """Assemble a function's code (``build_dir/functions/<name>``, unpacked at /var/task on Lambda) from
    its folder ``source`` and return it: the folder's files, less the development interpreter's
    bytecode, plus the runtime's."""
    compiler = _bytecode_compiler()
    fingerprint = _sha256(
        _bytecode_fingerprint(compiler).encode(), *_files_fingerprint(source, _deployed_files(source))
    )
    built = build_dir / "functions" / source.name
    marker = build_dir / "functions" / f"{source.name}.sha256"
    with _locked(build_dir / "functions.lock"):
        if _read(marker) == fingerprint and built.is_dir():
            return built
        marker.unlink(missing_ok=True)
        shutil.rmtree(built, ignore_errors=True)
        shutil.copytree(source, built, ignore=shutil.ignore_patterns(*DEVELOPMENT_BYTECODE))
        if compiler:
            compiler.compile(built, FUNCTION_PATH)
        marker.write_text(fingerprint)
    return built


def _read(marker: Path) -> str | None:
    return marker.read_text() if marker.exists() else None
