"""The HTTP API: every route of ``ROUTES`` to its function, a ``$default`` route for everything else, CORS
from ``resources``, access logs and throttling. Allowed origins and throttling are deploy settings
(``infra/app.py``); the local gateway reads the same defaults, so both answer alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.nag import acknowledge
from leadscore.api import DEFAULT_ROUTE_FUNCTION, Throttle
from leadscore.resources import (
    CORS_ALLOW_HEADERS,
    CORS_ALLOW_METHODS,
    CORS_MAX_AGE_SECONDS,
    DEFAULT_ALLOWED_ORIGINS,
    ROUTES,
)

ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
    '"requestTime":"$context.requestTime","route":"$context.routeKey","status":"$context.status",'
    '"length":"$context.responseLength","latency":"$context.responseLatency",'
    '"error":"$context.error.message","integrationError":"$context.integrationErrorMessage"}'
)


class TrackingApi(Construct):
    """Segment-compatible tracking calls (POST, write key) and score look-ups (GET, read key)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        allowed_origins: Sequence[str] = DEFAULT_ALLOWED_ORIGINS,
        throttle: Throttle | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        throttle = throttle or Throttle()
        integration_of = {
            name: integrations.HttpLambdaIntegration(f"{name.title()}Integration", functions[name])
            for name in dict.fromkeys([*(route.function for route in ROUTES), DEFAULT_ROUTE_FUNCTION])
        }
        self.api = apigw.HttpApi(
            self,
            "Api",
            description="Segment-compatible tracking endpoint and score look-ups",
            # API Gateway answers preflights itself and puts these headers on every answer to an allowed
            # origin, ignoring any a function sends; browser trackers post from the customer's own sites.
            cors_preflight=apigw.CorsPreflightOptions(
                allow_origins=list(allowed_origins),
                allow_methods=[apigw.CorsHttpMethod[method] for method in CORS_ALLOW_METHODS],
                allow_headers=list(CORS_ALLOW_HEADERS),
                max_age=Duration.seconds(CORS_MAX_AGE_SECONDS),
            ),
            # `$default`: whatever no route matches reaches this function, whose resolver answers the
            # service's JSON 404 instead of API Gateway's bare {"message":"Not Found"}.
            default_integration=integration_of[DEFAULT_ROUTE_FUNCTION],
        )
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
        # Applies to each route: API Gateway answers 429 {"message":"Too Many Requests"} past it.
        cfn_stage.default_route_settings = apigw.CfnStage.RouteSettingsProperty(
            throttling_burst_limit=throttle.burst, throttling_rate_limit=throttle.rate_per_second
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
