// RudderStack's JavaScript SDK v3 (@rudderstack/analytics-js) as a site bundles it from npm, pointed at
// the leadscore API both as its data plane and as its configuration back end (configUrl: the SDK asks
// GET {configUrl}/sourceConfig/?...). The "bundled" build carries every plugin in the bundle, so none is
// fetched from RudderStack's CDN; the source configuration names no device-mode destination.
import { RudderAnalytics } from "@rudderstack/analytics-js/bundled";

const READY_TIMEOUT_MS = 15000;

window.leadscoreScenario = ({ writeKey, apiUrl, userId, traits, event }) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`RudderStack was not ready after ${READY_TIMEOUT_MS} ms (its source configuration?)`)),
      READY_TIMEOUT_MS,
    );
    const analytics = new RudderAnalytics();
    analytics.load(writeKey, apiUrl, { configUrl: apiUrl, logLevel: "WARN" });
    // As on a real page, the calls are made right away; the SDK buffers them until it is ready.
    analytics.page();
    analytics.identify(userId, traits);
    analytics.track(event);
    analytics.ready(() => {
      clearTimeout(timer);
      resolve({ anonymousId: analytics.getAnonymousId(), failed: [] });
    });
  });
