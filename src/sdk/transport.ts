// One HTTP call to the REST API, made resilient: a per-attempt timeout, the
// caller's AbortSignal, and retries with exponential backoff and full jitter
// on network errors, timeouts, 429 (waiting as long as Retry-After says) and
// 5xx — never on other 4xx, which retrying cannot fix. Only fetch, AbortController
// and timers: it runs in browsers, Workers and Node alike.
import { EdgeQError, NetworkError, TimeoutError, errorFromResponse } from "./errors.js";

export interface RetryOptions {
  /** Retries after the first attempt. Default 4. */
  retries?: number;
  /** Backoff ceiling of the first retry; doubles each retry. Default 100 ms. */
  baseDelayMs?: number;
  /** Largest backoff ceiling. Default 5,000 ms. */
  maxDelayMs?: number;
  /** A Retry-After longer than this is cut to it. Default 60,000 ms. */
  maxRetryAfterMs?: number;
}

export interface TransportOptions extends RetryOptions {
  /** Where the server is, e.g. http://127.0.0.1:8787 (the REST API lives under /v1). */
  endpoint: string;
  /** A key's secret or a scoped token, sent as `Authorization: Bearer`. */
  secret?: string;
  /** Per-attempt timeout. Default 30,000 ms; a long poll adds its wait to it. */
  timeoutMs?: number;
  /** Another fetch (tests, instrumented clients). Default: the global fetch. */
  fetch?: typeof fetch;
  /** Source of randomness for jitter, in [0, 1). Default Math.random. */
  random?: () => number;
  /** Called before each retry, for logs and metrics. */
  onRetry?: (event: { attempt: number; delayMs: number; error: EdgeQError }) => void;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's per-attempt timeout for this call. */
  timeoutMs?: number;
  /** Sent as the Idempotency-Key header, the same on every retry of this call. */
  idempotencyKey?: string;
}

const DEFAULTS = { retries: 4, baseDelayMs: 100, maxDelayMs: 5_000, maxRetryAfterMs: 60_000, timeoutMs: 30_000 };

export class Transport {
  readonly endpoint: string;
  readonly #options: TransportOptions;
  readonly #fetch: typeof fetch;

  constructor(options: TransportOptions) {
    if (!options.endpoint) throw new TypeError("endpoint is required, e.g. http://127.0.0.1:8787");
    this.endpoint = options.endpoint.replace(/\/+$/, "");
    this.#options = options;
    // Bound so that browsers, which insist fetch is called on window, are happy.
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Where a WebSocket to `path` goes (ws: or wss:), and the credential to offer it (subscriber.ts). */
  socket(path: string): { url: string; secret: string | undefined } {
    return { url: `${this.endpoint.replace(/^http/, "ws")}/v1${path}`, secret: this.#options.secret };
  }

  /** The backoff before retry number `attempt` (0-based): full jitter under an exponential ceiling. */
  backoff(attempt: number): number {
    const base = this.#options.baseDelayMs ?? DEFAULTS.baseDelayMs;
    const cap = this.#options.maxDelayMs ?? DEFAULTS.maxDelayMs;
    const random = this.#options.random ?? Math.random;
    return random() * Math.min(cap, base * 2 ** attempt);
  }

  async call<T>(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<T> {
    const retries = this.#options.retries ?? DEFAULTS.retries;
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#options.secret) headers.authorization = `Bearer ${this.#options.secret}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    if (options.idempotencyKey) headers["idempotency-key"] = options.idempotencyKey;
    const init: RequestInit = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
    const url = `${this.endpoint}/v1${path}`;
    for (let attempt = 0; ; attempt++) {
      options.signal?.throwIfAborted();
      let failure: EdgeQError;
      let waitMs: number | undefined;
      try {
        const response = await this.#attempt(url, init, options);
        if (response.ok) return response.status === 204 ? (undefined as T) : ((await response.json()) as T);
        failure = await errorFromResponse(response);
        if (!retryable(response.status)) throw failure;
        waitMs = retryAfterMs(response.headers.get("retry-after"));
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        if (error instanceof EdgeQError && !(error instanceof NetworkError || error instanceof TimeoutError)) throw error;
        failure = error instanceof EdgeQError ? error : new NetworkError("NetworkError", `cannot reach ${this.endpoint}: ${describe(error)}`, 0, undefined, { cause: error });
      }
      if (attempt >= retries) throw failure;
      const delayMs = waitMs !== undefined ? Math.min(waitMs, this.#options.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs) : this.backoff(attempt);
      this.#options.onRetry?.({ attempt: attempt + 1, delayMs, error: failure });
      await sleep(delayMs, options.signal);
    }
  }

  /** One fetch whose response body is read before the timeout may fire. */
  async #attempt(url: string, init: RequestInit, options: CallOptions): Promise<Response> {
    const timeoutMs = options.timeoutMs ?? this.#options.timeoutMs ?? DEFAULTS.timeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort(options.signal!.reason);
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await this.#fetch(url, { ...init, signal: controller.signal });
      // Buffer the body under the same timer, so a stalled body also times out.
      const text = await response.text();
      return new Response(response.status === 204 ? null : text, { status: response.status, headers: response.headers });
    } catch (error) {
      if (timedOut) throw new TimeoutError("Timeout", `no answer from ${this.endpoint} within ${timeoutMs} ms`, 0, undefined, { cause: error });
      throw error;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }
}

function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const value = header.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function describe(error: unknown): string {
  // Node's fetch says only "fetch failed"; the reason is on its cause.
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code) return cause.code;
  const message = error instanceof Error ? error.message : String(error);
  return cause?.message ? `${message} (${cause.message})` : message;
}

/** A random key for Idempotency-Key; randomUUID needs a secure context, so fall back to getRandomValues. */
export function randomKey(): string {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
