"""How every Lambda function of the service is built: one place for runtime, layer, tracing, logs and role.

Tracing is off (no X-Ray, no xray:* grant). X-Ray bills every trace recorded and scanned, and the one
path worth tracing (API -> SQS -> score -> stream -> notify) breaks at the queue's 20 s batching window and
at the stream, where a trace cannot follow a batch of many requests. What an operator needs instead is in
CloudWatch: each function's metrics (docs/operations.md), the dashboard and alarms, and one correlation id
(the API request's) in the collect, score and notify logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.layer import build_function
from infra.nag import acknowledge
from leadscore.resources import SERVICE, FunctionSpec

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
HANDLER = "handler.handler"
LOG_RETENTION = logs.RetentionDays.ONE_MONTH


def construct_name(spec: FunctionSpec) -> str:
    return spec.name.title()


def shared_layer(scope: Construct, construct_id: str, layer_dir: Path) -> lambda_.LayerVersion:
    """The one layer every function uses: the leadscore package, its dependencies and the rule file."""
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=lambda_.Code.from_asset(str(layer_dir)),
        compatible_runtimes=[RUNTIME],
        compatible_architectures=[ARCHITECTURE],
        description="leadscore package, its dependencies (arm64 wheels) and the rule file at /opt/rules.yaml",
    )


def service_function(
    scope: Construct,
    spec: FunctionSpec,
    *,
    layer: lambda_.ILayerVersion,
    environment: Mapping[str, str],
) -> lambda_.Function:
    """The function ``functions/<spec.name>/handler.py`` with exactly the environment variables its spec
    names, its own log group and a role that may only write to that log group (grants add the rest)."""
    missing = set(spec.env) - environment.keys()
    if missing:
        raise ValueError(f"{spec.name} needs {sorted(missing)} but the stack does not provide them")
    name = construct_name(spec)
    log_group = logs.LogGroup(
        scope, f"{name}Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
    )
    # Instead of the managed AWSLambdaBasicExecutionRole (logs:* on every log group of the account).
    role = iam.Role(
        scope,
        f"{name}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"The {spec.name} function",
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        f"{name}Function",
        description=spec.description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=HANDLER,
        # functions/<name>/ with bytecode for the runtime's Python instead of the development one's.
        code=lambda_.Code.from_asset(str(build_function(FUNCTIONS_DIR / spec.name))),
        layers=[layer],
        memory_size=spec.memory_mb,
        timeout=Duration.seconds(spec.timeout_seconds),
        tracing=lambda_.Tracing.DISABLED,
        log_group=log_group,
        role=role,
        environment={
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **{variable: environment[variable] for variable in spec.env},
        },
    )
    acknowledge(
        function,
        "L1",
        f"The runtime is pinned to {RUNTIME.name}: the layer's compiled wheels (pydantic-core, PyYAML) are "
        "downloaded for exactly that Python version (infra/layer.py), so moving to a newer runtime is a "
        "deliberate change of both, tested together.",
    )
    return function
