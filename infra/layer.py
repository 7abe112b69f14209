"""The shared layer, built without Docker: pip's cross-platform wheels for arm64 Lambda plus our package.

The layer's root is mounted at /opt: ``python/`` holds the dependencies and the ``leadscore`` package
(minus the local stack and the CLI), and the rule file sits at /opt/rules.yaml
(``leadscore.resources.LAYER_RULES_PATH``). The pip step is skipped when the dependency list has not
changed since the last build.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from leadscore.resources import LAYER_RULES_PATH

REPO_ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = REPO_ROOT / "shared" / "leadscore"
BUILD_DIR = REPO_ROOT / ".build"
LAMBDA_PLATFORM = (
    "--platform",
    "manylinux2014_aarch64",
    "--python-version",
    "3.13",
    "--implementation",
    "cp",
)
# Not needed on Lambda: the local stack and the command line.
LEFT_OUT = ("local", "cli.py", "cli_*.py", "__pycache__", "*.pyc")


def runtime_requirements() -> list[str]:
    """The project's runtime dependencies, as pyproject.toml lists them (boto3 comes with Lambda)."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"])


def build_layer(rules_file: Path, build_dir: Path = BUILD_DIR) -> Path:
    """Assemble the layer directory and return it; the dependencies are reinstalled only when they change."""
    requirements = runtime_requirements()
    fingerprint = hashlib.sha256("\n".join([*requirements, *LAMBDA_PLATFORM]).encode()).hexdigest()
    dependencies = build_dir / "dependencies"
    marker = dependencies / ".requirements-sha256"
    if not marker.exists() or marker.read_text() != fingerprint:
        shutil.rmtree(dependencies, ignore_errors=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--only-binary=:all:",
                *LAMBDA_PLATFORM,
                "--target",
                str(dependencies / "python"),
                *requirements,
            ],
            check=True,
        )
        marker.write_text(fingerprint)
    layer = build_dir / "layer"
    shutil.rmtree(layer, ignore_errors=True)
    shutil.copytree(dependencies, layer, ignore=shutil.ignore_patterns(marker.name))
    shutil.copytree(PACKAGE_DIR, layer / "python" / "leadscore", ignore=shutil.ignore_patterns(*LEFT_OUT))
    shutil.copyfile(rules_file, layer / Path(LAYER_RULES_PATH).name)
    return layer
