// Connection handling (issue 20): 16 keep-alive clients (node:http's Agent,
// as most Node HTTP clients and the bench use) make 24,000 requests, sends and
// receives alternating, and none may see a reset or closed connection or any
// status but 200. Then how the server ends an idle keep-alive connection: with
// a clean FIN (which clients handle by opening a new one), not a reset.
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";

const CLIENTS = 16;
const REQUESTS = 24_000;
let server: RunningServer;

beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

describe("keep-alive connections", () => {
  it(`serve ${REQUESTS} requests from ${CLIENTS} keep-alive clients without a reset`, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const { port } = new URL(server.url);
    const sockets = new Set<net.Socket>();
    const call = (path: string, body: unknown) =>
      new Promise<number>((resolve, reject) => {
        const payload = Buffer.from(JSON.stringify(body));
        const request = http.request({ host: "127.0.0.1", port, path, method: "POST", agent, headers: { authorization: `Bearer ${DEV_SECRET}`, "content-type": "application/json", "content-length": payload.length } }, (response) => {
          response.resume();
          response.on("end", () => resolve(response.statusCode!));
          response.on("error", reject);
        });
        request.on("socket", (socket) => sockets.add(socket));
        request.on("error", reject);
        request.end(payload);
      });
    expect(await call("/v1/queues", { name: "keep-alive" })).toBe(201);
    let issued = 0;
    const statuses = new Map<number, number>();
    const errors: string[] = [];
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (issued < REQUESTS) {
        const n = issued++;
        try {
          const status = n % 2 === 0
            ? await call("/v1/queues/keep-alive/messages", { messages: [{ body: `m${n}` }] })
            : await call("/v1/queues/keep-alive/messages/receive", { maxMessages: 1, visibilityTimeout: 0 });
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        } catch (error) {
          errors.push(`${(error as NodeJS.ErrnoException).code ?? ""} ${String(error)}`);
        }
      }
    }));
    agent.destroy();
    console.log(`[keep-alive] ${REQUESTS} requests over ${sockets.size} connections: ${JSON.stringify(Object.fromEntries(statuses))}, ${errors.length} transport errors`);
    expect(errors).toEqual([]);
    expect(Object.fromEntries(statuses)).toEqual({ 200: REQUESTS });
    expect(sockets.size).toBeLessThanOrEqual(CLIENTS); // the connections were kept alive and reused
  }, 120_000);

  it("closes an idle keep-alive connection with a FIN, not a reset", async () => {
    const { port } = new URL(server.url);
    const socket = net.connect(Number(port), "127.0.0.1");
    let answered = "";
    const ended = new Promise<{ fin: boolean; error: string | null }>((resolve) => {
      let fin = false;
      socket.on("data", (chunk) => (answered += chunk));
      socket.on("end", () => (fin = true));
      socket.on("error", (error) => resolve({ fin, error: (error as NodeJS.ErrnoException).code ?? String(error) }));
      socket.on("close", () => resolve({ fin, error: null }));
    });
    socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const outcome = await ended;
    expect(answered).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(outcome).toEqual({ fin: true, error: null });
  }, 60_000);
});
