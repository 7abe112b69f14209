// RudderStack's JavaScript SDK v3 (@rudderstack/analytics-js) as a site bundles it from npm, pointed at
// the leadscore API as its data plane and its configuration back end (GET /sourceConfig). The "bundled"
// build carries its plugins, and only the two this page needs are loaded: nothing comes from a CDN.
import { RudderAnalytics } from "@rudderstack/analytics-js/bundled";

const READY_TIMEOUT_MS = 15000;

window.leadscoreScenario = ({ writeKey, apiUrl, userId, traits, event }) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`RudderStack was not ready after ${READY_TIMEOUT_MS} ms (source configuration?)`)),
      READY_TIMEOUT_MS,
    );
    const analytics = new RudderAnalytics();
    analytics.load(writeKey, apiUrl, {
      configUrl: apiUrl,
      plugins: ["XhrQueue", "StorageEncryption"],
      polyfillIfRequired: false,
      logLevel: "WARN",
    });
    // As on a real page, the calls are made right away; the SDK buffers them until it is ready.
    analytics.page();
    analytics.identify(userId, traits);
    analytics.track(event);
    analytics.ready(() => {
      clearTimeout(timer);
      resolve({ anonymousId: analytics.getAnonymousId(), failed: [] });
    });
  });
