// Two targets with one shape (send / receive / delete / stats), so every phase
// runs unchanged against edgeq (REST API, development credentials) and the bare
// baseline Durable Object of the bench build; the peers (pgmq, BullMQ) have the
// same shape in postgres.mjs and redis.mjs. Transport: the lean client in http.mjs.
import { postJson, request } from "./http.mjs";

const SECRET = "local-dev-secret";
const AUTH = { authorization: `Bearer ${SECRET}` };
/** Lease length for every receive in the bench; the same 30 s the peers get (edgeq's default too). */
export const VISIBILITY_SECONDS = 30;

/** 429s from the per-key edge rate limit (wrangler.toml KEY_RATE_LIMIT), counted and retried: a fast machine can reach it. */
export const throttled = { count: 0 };

/** edgeq through its REST API. `partitions` is set only when the server knows the attribute. */
export async function edgeqTarget(baseUrl, queue, { partitions } = {}) {
  const api = `${baseUrl}/v1/queues`;
  let partitionsApplied = null;
  if (partitions) {
    const response = await request(api, { method: "POST", headers: AUTH, body: JSON.stringify({ name: queue, attributes: { partitions, splitThreshold: 0 } }) });
    if (response.status < 300) partitionsApplied = JSON.parse(response.text).attributes?.partitions ?? null;
  }
  if (partitionsApplied === null) await postJson(api, { name: queue }, AUTH, throttled);
  const sendUrl = new URL(`${api}/${queue}/messages`);
  const receiveUrl = new URL(`${api}/${queue}/messages/receive`);
  const deleteUrl = new URL(`${api}/${queue}/messages/delete`);
  return {
    name: "edgeq",
    queue,
    partitions: partitionsApplied,
    async send(bodies) {
      const result = await postJson(sendUrl, { messages: bodies.map((body) => ({ body })) }, AUTH, throttled);
      if (result.failed.length > 0) throw new Error(`send failed: ${JSON.stringify(result.failed[0])}`);
      return result.successful.length;
    },
    async receive(maxMessages, visibilityTimeout = VISIBILITY_SECONDS) {
      const result = await postJson(receiveUrl, { maxMessages, visibilityTimeout }, AUTH, throttled);
      return result.messages.map((message) => message.receiptHandle);
    },
    async delete(handles) {
      const result = await postJson(deleteUrl, { receiptHandles: handles }, AUTH, throttled);
      return result.successful.length;
    },
    /** Receive that also acknowledges the previous batch (issue 14's optional `deleteReceiptHandles`). */
    async receiveDeleting(maxMessages, previous) {
      const result = await postJson(receiveUrl, { maxMessages, visibilityTimeout: VISIBILITY_SECONDS, deleteReceiptHandles: previous }, AUTH, throttled);
      return result.messages.map((message) => message.receiptHandle);
    },
    async stats() {
      return JSON.parse((await request(`${api}/${queue}/stats`, { headers: AUTH })).text);
    },
    async purge() {
      return (await postJson(new URL(`${api}/${queue}/purge`), {}, AUTH, throttled)).purged;
    },
  };
}

/**
 * Whether this server deletes the handles given as `deleteReceiptHandles` on a
 * receive. Checked by effect, not by a 2xx: a server that ignores unknown
 * fields answers 200 and deletes nothing.
 */
export async function probeDeleteOnReceive(baseUrl) {
  const target = await edgeqTarget(baseUrl, `bench-probe-${Date.now().toString(36)}`);
  await target.send(["probe"]);
  const [handle] = await target.receive(1);
  try {
    await target.receiveDeleting(1, [handle]);
  } catch {
    return false;
  }
  const stats = await target.stats();
  return stats.deleted === 1 && stats.inFlight === 0;
}

/** The bare baseline (bench build only): insert; select + update; delete, behind the same server. */
export async function baselineTarget(baseUrl, queue) {
  const api = `${baseUrl}/_bench/baseline/${queue}`;
  const [sendUrl, receiveUrl, deleteUrl] = ["send", "receive", "delete"].map((action) => new URL(`${api}/${action}`));
  return {
    name: "baseline",
    partitions: null,
    async send(bodies) {
      return (await postJson(sendUrl, { bodies })).seqs.length;
    },
    async receive(maxMessages, visibilityTimeout = VISIBILITY_SECONDS) {
      return (await postJson(receiveUrl, { maxMessages, visibilityTimeout })).messages.map((message) => message.seq);
    },
    async delete(handles) {
      return (await postJson(deleteUrl, { seqs: handles })).deleted;
    },
    async stats() {
      return null;
    },
  };
}

/** GET /healthz once: the Worker's cheapest route, no auth, no storage. */
export async function healthz(baseUrl) {
  const response = await request(`${baseUrl}/healthz`);
  if (response.status !== 200) throw new Error(`GET /healthz -> ${response.status}`);
}
