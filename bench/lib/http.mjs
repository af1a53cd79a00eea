// The bench's HTTP client for edgeq: node:http with a keep-alive Agent. Measured
// against Node's fetch (undici) with the same 16-way batch-10 load: about 3x the
// requests/s against a trivial server and a quarter of the client CPU against
// edgeq (docs/performance.md), so the load generator stays off the critical path.
import http from "node:http";

const agent = new http.Agent({ keepAlive: true, maxSockets: 64, scheduling: "lifo" });

/** One request; resolves with status and body text, rejects only on a transport error. */
export function request(url, { method = "GET", body, headers = {} } = {}) {
  const target = typeof url === "string" ? new URL(url) : url;
  const payload = body === undefined ? undefined : Buffer.from(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method,
        agent,
        headers: payload ? { "content-type": "application/json", "content-length": payload.length, ...headers } : headers,
      },
      (res) => {
        const chunks = [];
        res.on("data", (chunk) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** POST JSON, parse JSON; 429 is counted in `throttled` and retried after 100 ms. */
export async function postJson(url, value, headers, throttled) {
  for (;;) {
    const response = await request(url, { method: "POST", body: JSON.stringify(value), headers });
    if (response.status === 429) {
      if (throttled) throttled.count += 1;
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    if (response.status < 200 || response.status >= 300) throw new Error(`POST ${url} -> ${response.status}: ${response.text.slice(0, 300)}`);
    return JSON.parse(response.text);
  }
}

/** Frees the keep-alive sockets so the process can exit. */
export function closeAgent() {
  agent.destroy();
}
