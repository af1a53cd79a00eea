// Is the load generator the bottleneck? The same client (http.mjs), the same
// 16 senders and the same batch-10 request bodies, against a trivial HTTP
// server in THIS process that answers a canned edgeq-shaped reply: generator
// and server share one thread, so what it reaches is a floor for what the
// generator alone can offer. The peers' report divides it by edgeq's rate.
import { createServer } from "node:http";
import { postJson } from "./http.mjs";
import { sendPhase } from "./measure.mjs";

export async function generatorCeiling({ concurrency, bodySize, seconds }) {
  const reply = JSON.stringify({
    successful: Array.from({ length: 10 }, (_, index) => ({ index, id: `0190f3c2-7b3a-7c4e-9a1b-00000000000${index}`, md5OfBody: "d41d8cd98f00b204e9800998ecf8427e", sentAt: Date.now() })),
    failed: [],
  });
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(reply);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(`http://127.0.0.1:${server.address().port}/v1/queues/check/messages`);
  const target = {
    name: "trivial",
    async send(bodies) {
      const result = await postJson(url, { messages: bodies.map((body) => ({ body })) }, { authorization: "Bearer local-dev-secret" });
      return result.successful.length;
    },
  };
  try {
    const result = await sendPhase(target, { batch: 10, concurrency, bodySize, minSeconds: seconds, minMessages: 0 });
    return { msgsPerSec: Math.round(result.msgsPerSec), requestsPerSec: Math.round(result.msgsPerSec / 10), p50: result.send.p50, cpu: result.cpu };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
