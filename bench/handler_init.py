"""Handler init the way Lambda starts it, beside the textbook handler's, in one run.

Each measurement is a fresh Python 3.13 interpreter (the runtime's version; ``infra.layer.lambda_python``)
started with ``-I -B`` in an empty working directory and a Lambda-like environment (region, fake
credentials, the function's variables), whose ``sys.path`` is what the Python 3.13 runtime has, in its
order: the function's code as packaged (``.build/functions/<name>``: /var/task), the layer's
``python/lib/python3.13/site-packages`` and ``python/`` (/opt), the runtime's boto3 and botocore (pip's
install for 3.13 in ``.build/bench-runtime``, with bytecode, as the runtime ships them), then the
standard library. It first imports what the runtime's bootstrap has imported before it loads the handler
(json, logging, decimal, http.client, ...), then times ``import handler``: the part of the init phase a
function's own code decides. ``-B`` keeps it from writing bytecode: /opt and /var/task are read-only on
Lambda, so a module without a shipped pyc is compiled at every cold start.

The layer is ``infra.layer.build_layer`` run again for this machine's platform (Lambda's arm64 wheels do
not load on x86_64): the same dependencies, package, rule file and bytecode. The textbook handler
(``bench/textbook/handler.py``) is packaged the way a textbook deploy ships it: its code and a layer of
the same dependencies, *without* usable bytecode, as the common tools deploy it: SAM's builder (a port
of Chalice's packager) unpacks wheels without compiling them; CDK's Python bundling runs pip, whose
timestamp-checked pycs the asset zip's fixed 1980 timestamps make stale; the Serverless Framework's
``slim`` option deletes them. The same textbook with bytecode is printed beside it, the stricter
comparison.

Timings are in-process ``perf_counter`` around the import (interpreter start and teardown excluded; the
bare interpreter start is printed for scale), best and median of ``runs`` runs, the variants
interleaved. Files are in the page cache here; on Lambda the first read of each comes from the
deployment package, which adds to both sides alike.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench import textbook as textbook_tables
from infra import layer as layer_build
from leadscore import resources
from leadscore.rules import DEFAULT_RULES_FILE

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = REPO_ROOT / ".build"
BENCH_DIR = BUILD_DIR / "bench"
RUNTIME_DIR = BUILD_DIR / "bench-runtime"
FUNCTIONS_DIR = REPO_ROOT / "functions"
TEXTBOOK_DIR = REPO_ROOT / "bench" / "textbook"
RUNS = 15
TARGET = 0.6
IMPORTTIME_RUNS = 5
# What the runtime's bootstrap (awslambdaric) has imported when it loads the handler.
RUNTIME_PRELOADED = (
    "json",
    "logging",
    "decimal",
    "traceback",
    "warnings",
    "http.client",
    "socket",
    "importlib",
)
MARKER = "--- handler import ---"
# What the score handler builds on its first invocation (clients, the rule file): its ``wiring``
# (``leadscore.wiring``) run once.
FIRST_CALL_SETUP = """
sys.modules["handler"].wiring()
"""

CHILD = """
import sys, time
stdlib = [entry for entry in sys.path if "site-packages" not in entry]
sys.path[:] = [*{path!r}, *stdlib]
import {preloaded}
sys.stderr.write({marker!r} + "\\n")
started = time.perf_counter()
import {module}
{then}
elapsed = time.perf_counter() - started
sys.stdout.write(repr(elapsed))
sys.stdout.flush()
import os
os._exit(0)
"""


@dataclass
class Variant:
    label: str
    code: Path
    layer: Path
    environment: dict[str, str]
    module: str = "handler"
    then: str = ""  # what else the timed part runs after the import
    optional: bool = False  # left out of the table, saying why, if it fails
    seconds: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def path(self) -> list[str]:
        python = self.layer / "python"
        return [
            str(self.code),
            str(python / "lib" / "python3.13" / "site-packages"),
            str(python),
            str(RUNTIME_DIR),
        ]

    def command(self, python: Path, *flags: str) -> list[str]:
        child = CHILD.format(
            path=self.path,
            preloaded=", ".join(RUNTIME_PRELOADED),
            marker=MARKER,
            module=self.module,
            then=self.then,
        )
        return [str(python), "-I", "-B", *flags, "-c", child]

    @property
    def best_ms(self) -> float:
        return min(self.seconds) * 1000

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000


def lambda_environment(name: str, memory_mb: int, layer: Path, variables: tuple[str, ...]) -> dict[str, str]:
    """What Lambda sets for a function (less what would let it reach AWS), plus its own variables."""
    environment = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": f"{resources.SERVICE}-{name}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "_HANDLER": "handler.handler",
        "POWERTOOLS_SERVICE_NAME": resources.SERVICE,
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    placeholders = {
        resources.ENV_RULES_PATH: str(layer / layer_build.RULES_NAME),
        resources.ENV_RETENTION_DAYS: "0",
    }
    for variable in variables:
        environment[variable] = placeholders.get(variable, f"bench-{variable.lower()}")
    return environment


def runtime_boto3(compiler: layer_build.Compiler) -> Path:
    """boto3 and botocore as the runtime provides them: installed for 3.13, with (timestamp) bytecode."""
    version = importlib.metadata.version("boto3")
    marker = RUNTIME_DIR / ".boto3-version"
    if marker.exists() and marker.read_text() == version:
        return RUNTIME_DIR
    shutil.rmtree(RUNTIME_DIR, ignore_errors=True)
    subprocess.run(
        [
            *(str(compiler.python), "-I", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
            *("--target", str(RUNTIME_DIR), f"boto3=={version}"),
        ],
        check=True,
    )
    subprocess.run(
        [str(compiler.python), "-I", "-m", "compileall", "-q", "-j", "0", str(RUNTIME_DIR)], check=True
    )
    marker.write_text(version)
    return RUNTIME_DIR


def without_bytecode(source: Path, target: Path) -> Path:
    """A copy of ``source`` with no pycs: what a deploy that ships no usable bytecode puts on Lambda."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*layer_build.DEVELOPMENT_BYTECODE))
    return target


def with_bytecode(compiler: layer_build.Compiler, source: Path, target: Path, deployed_as: str) -> Path:
    without_bytecode(source, target)
    compiler.compile(target, deployed_as)
    return target


def textbook_code(target: Path, compiler: layer_build.Compiler | None) -> Path:
    """The textbook function's code as its deploy ships it: ``handler.py`` at the top, beside the
    ``bench.textbook`` module it imports its table names from."""
    shutil.rmtree(target, ignore_errors=True)
    ignore = shutil.ignore_patterns(*layer_build.DEVELOPMENT_BYTECODE)
    shutil.copytree(TEXTBOOK_DIR, target / "bench" / TEXTBOOK_DIR.name, ignore=ignore)
    shutil.copyfile(TEXTBOOK_DIR.parent / "__init__.py", target / "bench" / "__init__.py")
    shutil.copyfile(TEXTBOOK_DIR / "handler.py", target / "handler.py")
    if compiler:
        compiler.compile(target, layer_build.FUNCTION_PATH)
    return target


def bare_start_ms(python: Path, runs: int, cwd: str) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [str(python), "-I", "-B", "-c", "pass"], cwd=cwd, check=True, env={"PATH": "/usr/bin:/bin"}
        )
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000


def measure(variants: list[Variant], python: Path, runs: int, cwd: str) -> None:
    for _ in range(runs):
        for variant in variants:
            answer = subprocess.run(
                variant.command(python),
                cwd=cwd,
                env=variant.environment,
                capture_output=True,
                text=True,
                check=False,
            )
            if answer.returncode == 0:
                variant.seconds.append(float(answer.stdout))
            elif variant.optional:
                variant.error = (answer.stderr.strip().splitlines() or ["no output"])[-1]
            else:
                raise RuntimeError(f"{variant.label}: import failed:\n{answer.stderr[-3000:]}")
        variants = [variant for variant in variants if variant.error is None]


@dataclass
class Imported:
    """One module in ``-X importtime``'s tree: its own time (best of the runs) and who imported it."""

    module: str
    self_us: int
    cumulative_us: int
    depth: int
    parent: str | None

    @property
    def root(self) -> str:
        return self.module.split(".")[0]


def import_times(variant: Variant, python: Path, cwd: str) -> dict[str, Imported]:
    """``-X importtime`` of the handler import, each module's times the best of a few runs."""
    found: dict[str, Imported] = {}
    for _ in range(IMPORTTIME_RUNS):
        stderr = subprocess.run(
            variant.command(python, "-X", "importtime"),
            cwd=cwd,
            env=variant.environment,
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        lines = [
            line.removeprefix("import time:").split("|")
            for line in stderr.split(MARKER, 1)[1].splitlines()
            if line.startswith("import time:") and "self [us]" not in line
        ]
        # A module's line follows its children's: read backwards, the enclosing one comes first.
        ancestors: list[tuple[int, str]] = []
        for own, cumulative, name in reversed(lines):
            depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
            while ancestors and ancestors[-1][0] >= depth:
                ancestors.pop()
            module = name.strip()
            parent = ancestors[-1][1] if ancestors else None
            ancestors.append((depth, module))
            previous = found.get(module)
            found[module] = Imported(
                module,
                min(int(own), previous.self_us if previous else int(own)),
                min(int(cumulative), previous.cumulative_us if previous else int(cumulative)),
                depth,
                parent,
            )
    return found


def owner(imported: Imported, found: dict[str, Imported], stdlib: frozenset[str]) -> str:
    """The top-level package a module's time is charged to: its own, or for a standard-library module,
    the nearest importer outside the standard library (the package that pulled it in)."""
    current: Imported | None = imported
    while current is not None and current.root in stdlib:
        current = found.get(current.parent) if current.parent else None
    return current.root if current else "(the handler's own stdlib imports)"


def print_offenders(label: str, found: dict[str, Imported], stdlib: frozenset[str]) -> None:
    own: dict[str, int] = defaultdict(int)
    pulled: dict[str, int] = defaultdict(int)
    for imported in found.values():
        if imported.root in stdlib:
            pulled[owner(imported, found, stdlib)] += imported.self_us
        else:
            own[imported.root] += imported.self_us
    total = sum(own.values()) + sum(pulled.values())
    print(
        f"\n  {label}: -X importtime of the handler import, best of {IMPORTTIME_RUNS} runs, total "
        f"{total / 1000:.0f} ms, by top-level package: its modules + the standard library it pulls in"
    )
    ranked = sorted({*own, *pulled}, key=lambda root: -(own[root] + pulled[root]))
    for root in ranked[:10]:
        both = own[root] + pulled[root]
        print(
            f"    {root:<28} {both / 1000:6.1f} ms  {both / total:4.0%}"
            f"   ({own[root] / 1000:5.1f} own + {pulled[root] / 1000:5.1f} stdlib)"
        )
    print(f"  {label}: heaviest imports outside the standard library (cumulative ms, self ms, importer)")
    heaviest = sorted(
        (imported for imported in found.values() if imported.root not in stdlib and imported.depth <= 4),
        key=lambda imported: -imported.cumulative_us,
    )
    for imported in heaviest[:20]:
        print(
            f"    {imported.cumulative_us / 1000:6.1f} {imported.self_us / 1000:6.1f}  "
            f"{'  ' * imported.depth}{imported.module}  <- {imported.parent or '(top)'}"
        )


def verdict(ratio: float) -> str:
    return "pass" if ratio <= TARGET else "FAIL"


def run(runs: int = RUNS) -> None:
    compiler = layer_build.lambda_python()
    title = "handler init as Lambda starts it (import of the handler module, Python 3.13, -I -B)"
    if compiler is None:
        print(f"{title}: skipped, no Python 3.13 on this machine ({layer_build.LAMBDA_PYTHON_VARIABLE})")
        return
    machine = platform.machine()
    layer = layer_build.build_layer(
        DEFAULT_RULES_FILE, BENCH_DIR / f"ours-{machine}", platform=f"manylinux2014_{machine}"
    )
    runtime_boto3(compiler)
    bare_layer = without_bytecode(layer, BENCH_DIR / f"no-bytecode-{machine}" / "layer")
    specs = resources.FUNCTIONS
    variants = [
        Variant(
            name,
            layer_build.build_function(FUNCTIONS_DIR / name),
            layer,
            lambda_environment(name, spec.memory_mb, layer, spec.env),
        )
        for name, spec in specs.items()
    ]
    score = resources.FUNCTIONS["score"]
    (score_now,) = [variant for variant in variants if variant.label == "score"]
    # What the score function defers to its first invocation (a DynamoDB client, the rule file), which
    # the textbook handler does at init: the fair comparison of the cold start's critical path.
    score_first_call = Variant(
        "score + first-call setup",
        score_now.code,
        layer,
        score_now.environment,
        then=FIRST_CALL_SETUP,
        optional=True,
    )
    score_before = Variant(
        "score, no bytecode (as before)",
        without_bytecode(FUNCTIONS_DIR / "score", BENCH_DIR / "score-no-bytecode"),
        bare_layer,
        score_now.environment | {resources.ENV_RULES_PATH: str(bare_layer / layer_build.RULES_NAME)},
    )
    extra = [score_first_call, score_before]
    textbook: list[Variant] = []
    if (TEXTBOOK_DIR / "handler.py").exists():
        textbook_variables = (textbook_tables.ENV_TABLE, textbook_tables.ENV_IDEMPOTENCY_TABLE, "RULES_PATH")
        textbook = [
            Variant(
                "textbook, no bytecode (as deployed)",
                textbook_code(BENCH_DIR / "textbook-no-bytecode", None),
                bare_layer,
                lambda_environment("textbook", score.memory_mb, bare_layer, textbook_variables),
            ),
            Variant(
                "textbook, with bytecode",
                textbook_code(BENCH_DIR / "textbook", compiler),
                layer,
                lambda_environment("textbook", score.memory_mb, layer, textbook_variables),
            ),
        ]
    with tempfile.TemporaryDirectory(prefix="lambda-cwd-") as cwd:
        measure([*variants, *extra, *textbook], compiler.python, runs, cwd)
        bare = bare_start_ms(compiler.python, runs, cwd)
        offenders = import_times(score_now, compiler.python, cwd)
        stdlib_names = subprocess.run(
            [str(compiler.python), "-I", "-c", "import sys; print(*sys.stdlib_module_names)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()

    print(f"{title}, best / median of {runs} runs, {machine}")
    print(
        "  sys.path: the function's code as packaged, the layer's python/ (built for this machine), boto3 "
        "as the runtime ships it, the standard library"
    )
    print(f"  bare interpreter start (not included): {bare:.0f} ms")
    deployed, compiled = (textbook[0], textbook[1]) if textbook else (None, None)
    header = f"  {'':<34} {'best ms':>8} {'median ms':>10}"
    if deployed and compiled:
        header += f"   {'x textbook as deployed':>22} {'(target)':>9}   {'x textbook with bytecode':>24}"
    print(header)
    for variant in [*variants, *extra, *textbook]:
        if variant.error is not None:
            print(f"  {variant.label:<34} not measured: {variant.error}")
            continue
        line = f"  {variant.label:<34} {variant.best_ms:8.0f} {variant.median_ms:10.0f}"
        if deployed and compiled and variant not in textbook:
            ratio = variant.median_ms / deployed.median_ms
            mark = f"{verdict(ratio)} {TARGET}" if variant in variants else ""
            line += f"   {ratio:21.2f}x {mark:>9}   {variant.median_ms / compiled.median_ms:23.2f}x"
        print(line)
    if deployed and compiled:
        passed = sum(variant.median_ms / deployed.median_ms <= TARGET for variant in variants)
        print(
            f"  target: each function's init at most {TARGET}x the textbook handler's as deployed (medians): "
            f"{passed} of {len(variants)} pass"
        )
    else:
        print(f"  textbook handler: {TEXTBOOK_DIR.relative_to(REPO_ROOT)}/handler.py not found, no ratios")
    print_offenders("score", offenders, frozenset(stdlib_names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    run(parser.parse_args().runs)


if __name__ == "__main__":
    main()
