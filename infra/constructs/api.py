"""The HTTP API: every route of ``ROUTES`` to its function, with access logs and throttling."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge
from leadscore.resources import ROUTES

THROTTLING_RATE_PER_SECOND = 500
THROTTLING_BURST = 1000
ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","route":"$context.routeKey","status":"$context.status",'
    '"length":"$context.responseLength","latency":"$context.responseLatency",'
    '"error":"$context.error.message","integrationError":"$context.integrationErrorMessage"}'
)


class TrackingApi(Construct):
    """Segment-compatible tracking calls (POST, write key) and score look-ups (GET, read key)."""

    def __init__(
        self, scope: Construct, construct_id: str, *, functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = apigw.HttpApi(
            self,
            "Api",
            description="Segment-compatible tracking endpoint and score look-ups",
            # Browser trackers post from the customer's own sites; keys, not origins, authenticate.
            cors_preflight=apigw.CorsPreflightOptions(
                allow_origins=["*"],
                allow_methods=[apigw.CorsHttpMethod.POST, apigw.CorsHttpMethod.GET],
                allow_headers=["authorization", "content-type", "content-encoding"],
            ),
        )
        integration_of = {
            name: integrations.HttpLambdaIntegration(f"{name.title()}Integration", functions[name])
            for name in dict.fromkeys(route.function for route in ROUTES)
        }
        for route in ROUTES:
            self.api.add_routes(
                path=route.path,
                methods=[apigw.HttpMethod[route.method]],
                integration=integration_of[route.function],
            )
        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        stage = self.api.default_stage
        assert stage is not None
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigw.CfnStage)
        cfn_stage.access_log_settings = apigw.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.access_logs.log_group_arn, format=ACCESS_LOG_FORMAT
        )
        cfn_stage.default_route_settings = apigw.CfnStage.RouteSettingsProperty(
            throttling_burst_limit=THROTTLING_BURST, throttling_rate_limit=THROTTLING_RATE_PER_SECOND
        )
        acknowledge(
            self.api,
            "APIG4",
            "Segment's and RudderStack's SDKs send the write key as the basic-auth user name, which no API "
            "Gateway authorizer type reads without another Lambda in the path; collect and leads check the "
            "write or read key from Secrets Manager on every request and answer 401 without a valid one.",
        )

    @property
    def url(self) -> str:
        return self.api.api_endpoint
