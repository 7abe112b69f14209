// analytics.js (@segment/analytics-next) as a site bundles it from npm, pointed at the leadscore API.
// Its settings come from the API (cdnURL: GET /v1/projects/{writeKey}/settings) and its events go to
// the API's one-letter paths (/v1/p, /v1/i, /v1/t): nothing is fetched from Segment's CDN or API.
import { AnalyticsBrowser } from "@segment/analytics-next";

window.leadscoreScenario = async ({ writeKey, apiUrl, userId, traits, event }) => {
  const api = new URL(apiUrl);
  const [analytics] = await AnalyticsBrowser.load(
    { writeKey, cdnURL: apiUrl },
    {
      integrations: {
        "Segment.io": { apiHost: `${api.host}/v1`, protocol: api.protocol.replace(":", "") },
      },
    },
  );
  // A delivery the SDK gives up on is reported as an error, as a site's own error monitoring sees it.
  analytics.on("error", (error) => console.error("analytics.js error", error.code, String(error.reason)));
  // Each call resolves once the Segment.io plugin has dispatched it (or given up on it).
  const contexts = [
    await analytics.page(),
    await analytics.identify(userId, traits),
    await analytics.track(event),
  ];
  return {
    anonymousId: analytics.user().anonymousId(),
    failed: contexts
      .filter((ctx) => ctx.failedDelivery())
      .map((ctx) => `${ctx.event.type}: ${String(ctx.failedDelivery().reason)}`),
  };
};
