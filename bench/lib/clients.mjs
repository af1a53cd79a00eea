// Two targets with one shape, so every scenario runs unchanged against edgeq
// (REST API, development credentials) and the bare baseline Durable Object.
const SECRET = "local-dev-secret";

/** 429s from the per-key edge rate limit (wrangler.toml KEY_RATE_LIMIT), counted and retried: a fast machine can reach it. */
export const throttled = { count: 0 };

async function post(url, body, headers = {}) {
  for (;;) {
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
    const text = await response.text();
    if (response.status === 429) {
      throttled.count += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    if (!response.ok) throw new Error(`POST ${url} -> ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text);
  }
}

/** edgeq through its REST API. `partitions` is set only when the server knows the attribute. */
export async function edgeqTarget(baseUrl, queue, { partitions } = {}) {
  const auth = { authorization: `Bearer ${SECRET}` };
  const api = `${baseUrl}/v1/queues`;
  let partitionsApplied = null;
  if (partitions) {
    const response = await fetch(api, {
      method: "POST",
      headers: { "content-type": "application/json", ...auth },
      body: JSON.stringify({ name: queue, attributes: { partitions, splitThreshold: 0 } }),
    });
    if (response.ok) partitionsApplied = (await response.json()).attributes?.partitions ?? null;
    else await response.text();
  }
  if (partitionsApplied === null) await post(api, { name: queue }, auth);
  return {
    name: "edgeq",
    partitions: partitionsApplied,
    async send(bodies) {
      const result = await post(`${api}/${queue}/messages`, { messages: bodies.map((body) => ({ body })) }, auth);
      if (result.failed.length > 0) throw new Error(`send failed: ${JSON.stringify(result.failed[0])}`);
      return result.successful.length;
    },
    async receive(maxMessages, visibilityTimeout = 60) {
      const result = await post(`${api}/${queue}/messages/receive`, { maxMessages, visibilityTimeout }, auth);
      return result.messages.map((message) => message.receiptHandle);
    },
    async delete(handles) {
      const result = await post(`${api}/${queue}/messages/delete`, { receiptHandles: handles }, auth);
      return result.successful.length;
    },
    async stats() {
      const response = await fetch(`${api}/${queue}/stats`, { headers: auth });
      return response.json();
    },
  };
}

/** The bare baseline: insert; select + update; delete, behind the same server. */
export async function baselineTarget(baseUrl, queue) {
  const api = `${baseUrl}/_bench/baseline/${queue}`;
  return {
    name: "baseline",
    partitions: null,
    async send(bodies) {
      return (await post(`${api}/send`, { bodies })).seqs.length;
    },
    async receive(maxMessages, visibilityTimeout = 60) {
      return (await post(`${api}/receive`, { maxMessages, visibilityTimeout })).messages.map((message) => message.seq);
    },
    async delete(handles) {
      return (await post(`${api}/delete`, { seqs: handles })).deleted;
    },
    async stats() {
      return null;
    },
  };
}
