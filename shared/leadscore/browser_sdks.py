"""What the browser SDKs load before they track, served by the API so a page needs no vendor CDN.

analytics.js (analytics-next) reads its settings from ``{cdnURL}/v1/projects/{writeKey}/settings``: the
``Segment.io`` integration there tells it where to post (``apiHost``, ``protocol``). RudderStack's SDK
reads its source configuration from ``{configUrl}/sourceConfig``: no destinations, so it only sends to
its data plane, this API.
"""

from __future__ import annotations

from typing import Any


def segment_settings(write_key: str, api_host: str, protocol: str) -> dict[str, Any]:
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": f"{api_host}/v1",
                "protocol": protocol,
                "unbundledIntegrations": [],
                "addBundledMetadata": False,
            }
        },
        "plan": {"track": {"__default": {"enabled": True, "integrations": {}}}, "identify": {}, "group": {}},
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        # No usage metrics: the SDK would post them to the same host for nothing.
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }


def rudderstack_source_config(write_key: str) -> dict[str, Any]:
    return {
        "isHosted": False,
        "source": {
            "id": "leadscore",
            "name": "leadscore",
            "writeKey": write_key,
            "enabled": True,
            "workspaceId": "leadscore",
            "config": {"statsCollection": {"errors": {"enabled": False}, "metrics": {"enabled": False}}},
            "destinations": [],
        },
    }


def protocol_of(forwarded_proto: str | None, host: str) -> str:
    """API Gateway says ``https`` in X-Forwarded-Proto; the local gateway on 127.0.0.1 serves plain http."""
    if forwarded_proto:
        return forwarded_proto.split(",")[0].strip()
    return "http" if host.startswith(("127.0.0.1", "localhost")) else "https"
