// Secrets and optional variables the Worker reads. `wrangler types` only sees
// what wrangler.toml declares; these come from `wrangler secret put` (deployed)
// or from `--var` under `npm start` and the test configuration.
interface EdgeqSecrets {
  /** "true" only under `npm start` and tests: permits the documented development defaults on loopback. */
  EDGEQ_DEV_MODE?: string;
  EDGEQ_ADMIN_KEY_ID?: string;
  EDGEQ_ADMIN_SECRET?: string;
  EDGEQ_MASTER_KEY?: string;
  /** The master key being rotated away from: `edgeq admin rotate-master-key` re-wraps what it wrapped. */
  EDGEQ_PREVIOUS_MASTER_KEY?: string;
  /** "true" under `npm start` / `edgeq serve`: configuration advice names their settings, not `wrangler secret put`. */
  EDGEQ_SELF_HOSTED?: string;
  /** 12-digit account id used in SQS queue URLs and ARNs. */
  EDGEQ_ACCOUNT_ID?: string;
  /** "true": one JSON log line per request (`npm start -- --log-requests`); off by default, off the hot path. */
  EDGEQ_LOG_REQUESTS?: string;
  /** Comma-separated origins allowed to call the REST API from a browser. */
  EDGEQ_CORS_ORIGINS?: string;
  /**
   * "none" where no platform sets CF-Connecting-IP (the self-hosted server,
   * `npm run dev`): the header is then the client's to choose and is ignored.
   * Unset (a deployed Worker): Cloudflare sets it, and it names the client.
   */
  EDGEQ_CLIENT_ADDRESS?: string;
  /**
   * "https" when the self-hosted server terminates TLS in front of workerd,
   * which then sees plain http://: URLs built from the request (QueueUrls)
   * must carry the scheme the client used. See src/worker/edge/scheme.ts.
   */
  EDGEQ_PUBLIC_SCHEME?: string;
  /** Set by the self-hosted server alone (a random value per start): the bearer of POST /_edgeq/control (src/worker/control.ts). */
  EDGEQ_CONTROL_TOKEN?: string;
  /** Seconds a queue's data key encrypts new messages before a new version takes over. */
  EDGEQ_DATA_KEY_ROTATION_SECONDS?: string;
}
interface Env extends EdgeqSecrets {}
declare namespace Cloudflare {
  interface Env extends EdgeqSecrets {}
}
