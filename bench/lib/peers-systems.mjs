// The three systems of `npm run bench -- --peers`, each behind one interface:
// prepare() once (find or install its server, or say why it is skipped), then
// per round start() a fresh server and give queues in the bench's target shape;
// close() stops that server by PID and removes its files.
import { existsSync } from "node:fs";
import { edgeqTarget, healthz, probeDeleteOnReceive } from "./clients.mjs";
import { preparePostgres, startPostgres } from "./postgres.mjs";
import { prepareRedis, startRedis } from "./redis.mjs";
import { startServer } from "./server.mjs";
import { track } from "./system.mjs";

export const LABELS = { edgeq: "edgeq", pgmq: "pgmq", bullmq: "BullMQ" };

export const SYSTEMS = {
  edgeq: {
    prepare: () => ({ version: "npm start (self-hosted server, REST API)" }),
    async start() {
      // The product build (wrangler.toml): exactly what `npm start` serves.
      const server = await startServer({ mode: "self", build: "product" });
      const stop = track(async () => {
        await server.stop("SIGTERM");
        server.removeState();
      });
      let queueSeq = 0;
      return {
        info: { url: server.url, pid: server.pid },
        queue: (label) => edgeqTarget(server.url, `peers-${label}-${Date.now().toString(36)}-${queueSeq++}`),
        healthz: () => healthz(server.url),
        probeDeleteOnReceive: () => probeDeleteOnReceive(server.url),
        close: stop,
      };
    },
  },
  pgmq: {
    prepare: (options, note) => preparePostgres(options.pgmqSql, note),
    async start(prepared, options) {
      const pg = await startPostgres(prepared, { connections: options.concurrency });
      let queueSeq = 0;
      return {
        info: { pid: pg.pid, pgmq: pg.pgmq, settings: pg.settings },
        queue: (label) => pg.queue(`peers_${label}_${queueSeq++}`.replace(/[^a-z0-9_]/g, "_")),
        close: () => pg.close(),
      };
    },
  },
  bullmq: {
    prepare(_options, note) {
      if (!existsSync(new URL("../../node_modules/bullmq/package.json", import.meta.url))) return { skip: "npm package bullmq is not installed (npm ci)" };
      return prepareRedis(note);
    },
    async start(prepared) {
      const redis = await startRedis(prepared);
      let queueSeq = 0;
      return {
        info: { pid: redis.pid, settings: redis.settings },
        queue: (label) => redis.queue(`peers-${label}-${queueSeq++}`),
        close: () => redis.close(),
      };
    },
  },
};
