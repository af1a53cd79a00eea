// REST calls through the Worker's own fetch handler inside workerd, and
// handles on a queue's Partition objects, for *.worker.test.ts files.
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import type { Partition } from "../../src/objects/partition/partition.js";
import { DEFAULT_ACCOUNT_ID } from "../../src/worker/config.js";

/** The development admin credential, as a JSON request's headers. */
export const AUTH = { authorization: "Bearer local-dev-secret", "content-type": "application/json" };
let counter = 0;

/** A string body is sent as it is (malformed JSON tests); anything else as JSON. */
export async function rest(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await exports.default.fetch(new Request(`http://localhost${path}`, {
    method,
    headers: { ...AUTH, ...headers },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  }));
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, headers: response.headers };
}

/** A fresh queue name for this test run. */
export function uniqueName(prefix: string, fifo = false): string {
  return `${prefix}-${Date.now().toString(36)}-${++counter}${fifo ? ".fifo" : ""}`;
}

export function partitionOf(queue: string, index = 0): DurableObjectStub<Partition> {
  return env.PARTITION.get(env.PARTITION.idFromName(`${DEFAULT_ACCOUNT_ID}/${queue}/${index}`));
}

export function catalogStub() {
  return env.CATALOG.get(env.CATALOG.idFromName(DEFAULT_ACCOUNT_ID));
}

/**
 * Moves a partition's clock-derived columns `ms` into the past, as if that
 * time had passed, then evicts the object: it keeps its own state in memory,
 * so the next call starts it afresh from storage (as after a restart).
 */
export async function travel(queue: string, ms: number, index = 0): Promise<void> {
  await rewrite(queue, index, (sql) => {
    sql.exec("UPDATE messages SET sent_at = sent_at - ?, visible_at = visible_at - ?, first_received_at = first_received_at - ? WHERE leased != 2", ms, ms, ms);
    sql.exec("UPDATE fifo_groups SET available_at = available_at - ?", ms);
    sql.exec("UPDATE meta SET move_retry_at = move_retry_at - ?, load_window_start = CASE WHEN load_window_start > 0 THEN load_window_start - ? ELSE 0 END", ms, ms);
  });
}

/** Changes a partition's stored rows directly, then evicts it so it reads them again. */
export async function rewrite(queue: string, index: number, change: (sql: SqlStorage) => void): Promise<void> {
  const stub = partitionOf(queue, index);
  await runInDurableObject(stub, (_instance: Partition, state) => change(state.storage.sql));
  await evictDurableObject(stub);
}
