"""How every Lambda function of the service is built: one place for the runtime, tracing and logs."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from leadscore.resources import SERVICE, FunctionSpec

FUNCTIONS_DIR = Path(__file__).resolve().parents[1] / "functions"
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64


def service_function(
    scope: Construct, spec: FunctionSpec, *, layer: lambda_.ILayerVersion, environment: dict[str, str]
) -> lambda_.Function:
    """A function from its spec, with exactly the environment variables the spec names."""
    missing = set(spec.env) - environment.keys()
    if missing:
        raise ValueError(f"{spec.name} needs {sorted(missing)} but the stack does not provide them")
    log_group = logs.LogGroup(
        scope,
        f"{spec.name.title()}Logs",
        retention=logs.RetentionDays.ONE_MONTH,
        removal_policy=RemovalPolicy.DESTROY,
    )
    return lambda_.Function(
        scope,
        f"{spec.name.title()}Function",
        description=spec.description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler="handler.handler",
        code=lambda_.Code.from_asset(str(FUNCTIONS_DIR / spec.name), exclude=["__pycache__", "*.pyc"]),
        layers=[layer],
        memory_size=spec.memory_mb,
        timeout=Duration.seconds(spec.timeout_seconds),
        tracing=lambda_.Tracing.ACTIVE,
        log_group=log_group,
        environment={
            "POWERTOOLS_SERVICE_NAME": SERVICE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **{name: environment[name] for name in spec.env},
        },
    )
