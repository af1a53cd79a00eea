declare module "cloudflare:test" {
  interface ProvidedEnv extends Env {
    /** Test-only (vitest.config.ts): a real rate limiter allowing 2 calls per 10 s per key. */
    TIGHT_RATE_LIMIT: RateLimit;
  }
}
