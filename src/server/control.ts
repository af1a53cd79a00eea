// The server's side of the Worker's control path (src/worker/control.ts):
// it watches the free space of the data directory's file system and tells the
// Worker when it falls below the reserve (sends are then refused with 507
// InsufficientStorage, so that receives and deletes, which write too, still
// find room and consumers can drain), and when space returns. It re-sends the
// state every few seconds, so a runtime restarted after a crash learns it
// again. On close it begins the drain: the Worker turns new requests away with
// 503 and Retry-After while the ones in flight finish.
/// <reference types="node" />
import { randomBytes } from "node:crypto";
import { statfsSync } from "node:fs";

/** Sends stop while less than this is free: room for the WAL of receives and deletes, and SQLite's journal. */
export const DEFAULT_STORAGE_RESERVE_BYTES = 64 * 1024 * 1024;
const WATCH_INTERVAL_MS = 200;
const RESEND_INTERVAL_MS = 5_000;
const DRAIN_POLL_MS = 50;

export interface ControlAnswer {
  inFlight: number;
  draining: boolean;
  storageLow: boolean;
}

export class ServerControl {
  /** The bearer of the control path: random per start, known to this process and the Worker alone. */
  readonly token = randomBytes(32).toString("base64url");
  #url: string | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastLow: boolean | undefined;
  #lastSentAt = 0;

  constructor(readonly dataDir: string, readonly reserveBytes: number) {}

  /** Free bytes on the data directory's file system, for an unprivileged user. */
  free(): number {
    const stats = statfsSync(this.dataDir);
    return Number(stats.bavail) * Number(stats.bsize);
  }

  /** Starts watching once the Worker listens at `url`. */
  start(url: string): void {
    this.#url = url;
    this.#timer = setInterval(() => void this.#watch().catch(() => undefined), WATCH_INTERVAL_MS);
    this.#timer.unref();
    void this.#watch().catch(() => undefined);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /**
   * Tells the Worker to turn new requests away, then waits until none is in
   * flight or `timeoutMs` passed; the runtime's own SIGTERM drain finishes the rest.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.stop();
    const deadline = Date.now() + timeoutMs;
    let answer = await this.#send({ draining: true }).catch(() => null);
    while (answer && answer.inFlight > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      answer = await this.#send({}).catch(() => null);
    }
  }

  async #watch(): Promise<void> {
    const free = this.free();
    const low = free < this.reserveBytes;
    if (low === this.#lastLow && Date.now() - this.#lastSentAt < RESEND_INTERVAL_MS) return;
    await this.#send({ storage: { free, reserve: this.reserveBytes } });
    if (low !== this.#lastLow && (low || this.#lastLow !== undefined)) console.error(low
      ? `edgeq: warning: ${free} bytes free in ${this.dataDir}, under the reserve of ${this.reserveBytes}: sends are refused (507) until space returns`
      : `edgeq: ${free} bytes free in ${this.dataDir} again: sends are accepted`);
    this.#lastLow = low;
    this.#lastSentAt = Date.now();
  }

  async #send(report: object): Promise<ControlAnswer> {
    const response = await fetch(`${this.#url}/_edgeq/control`, {
      method: "POST",
      headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
      body: JSON.stringify(report),
      signal: AbortSignal.timeout(2_000),
    });
    if (!response.ok) throw new Error(`control path answered ${response.status}`);
    return (await response.json()) as ControlAnswer;
  }
}
