// Command-line options of `npm run bench`, with the defaults of each mode: the
// default run (edgeq vs the baseline), `--peers` (edgeq vs pgmq vs BullMQ) and
// `--quick` (a short smoke run of either, as the bench test runs it).
import { fileURLToPath } from "node:url";
import { parseDuration } from "./load-scenarios.mjs";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export function parseOptions(args) {
  const quick = args.includes("--quick");
  const peers = args.includes("--peers");
  const opts = {
    quick,
    peers,
    server: "self",
    concurrency: 16,
    bodySize: 200,
    batches: peers ? [10, 1] : [1, 10],
    minSeconds: quick ? 1 : 10,
    // The peers' rule is issue 14's: at least 10 s or 20,000 messages, whichever is longer.
    minMessages: quick ? 300 : peers ? 20_000 : 2_000,
    warmupSeconds: quick ? 0.5 : 2,
    warmupMessages: quick ? 100 : 2_000,
    rounds: peers && !quick ? 3 : 1,
    systems: ["edgeq", "pgmq", "bullmq"],
    pgmqSql: process.env.EDGEQ_PGMQ_SQL || `${ROOT}../shared/peers/pgmq-1.5.1.sql`,
    partitions: [1],
    depth: quick ? 5_000 : 100_000,
    out: undefined,
    /** Issue 20's scenarios (load-scenarios.mjs): at most one of them per run. */
    waiters: null,
    wide: null,
    soakMs: null,
    keyedMs: null,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--quick" || arg === "--peers") continue;
    const [flag, inline] = arg.split(/=(.*)/s);
    const value = inline ?? args[++i];
    const number = (min = 1) => {
      const n = Number(value);
      if (!Number.isFinite(n) || n < min) fail(`${flag} must be a number >= ${min}, got ${value}`);
      return n;
    };
    const int = () => {
      const n = number();
      if (!Number.isInteger(n)) fail(`${flag} must be an integer, got ${value}`);
      return n;
    };
    const list = () => String(value).split(",").map(Number);
    switch (flag) {
      case "--server":
        if (value !== "self" && value !== "dev") fail(`--server must be self or dev, got ${value}`);
        opts.server = value;
        break;
      case "--messages": // the old name: it was the per-scenario count
      case "--min-messages": opts.minMessages = int(); break;
      case "--min-seconds": opts.minSeconds = number(0); break;
      case "--warmup-seconds": opts.warmupSeconds = number(0); break;
      case "--warmup-messages": opts.warmupMessages = number(0); break;
      case "--rounds": opts.rounds = int(); break;
      case "--concurrency": opts.concurrency = int(); break;
      case "--body-size": opts.bodySize = int(); break;
      case "--batch":
        opts.batches = list();
        if (!opts.batches.every((n) => Number.isInteger(n) && n >= 1 && n <= 10)) fail(`--batch must be integers 1..10, got ${value}`);
        break;
      case "--partitions":
        opts.partitions = list();
        if (!opts.partitions.every((n) => Number.isInteger(n) && n >= 1)) fail(`--partitions must be positive integers, got ${value}`);
        break;
      case "--systems":
        opts.systems = String(value).split(",");
        if (!opts.systems.every((s) => ["edgeq", "pgmq", "bullmq"].includes(s))) fail(`--systems takes edgeq,pgmq,bullmq, got ${value}`);
        break;
      case "--pgmq-sql": opts.pgmqSql = value; break;
      case "--depth": opts.depth = Math.max(int(), 200); break;
      case "--out": opts.out = value; break;
      case "--waiters": opts.waiters = int(); break;
      case "--wide": opts.wide = int(); break;
      case "--soak": {
        const ms = parseDuration(value);
        if (ms === null || ms < 10_000) fail(`--soak takes a duration of at least 10s such as 30m, 90s or 1h, got ${value}`);
        opts.soakMs = ms;
        break;
      }
      case "--keyed": {
        const ms = parseDuration(value);
        if (ms === null || ms < 10_000) fail(`--keyed takes a duration of at least 10s such as 3m or 90s, got ${value}`);
        opts.keyedMs = ms;
        break;
      }
      default: fail(`unknown argument ${arg}`);
    }
  }
  if ([opts.waiters, opts.wide, opts.soakMs, opts.keyedMs, opts.peers || null].filter((v) => v !== null && v !== false).length > 1) fail("--waiters, --wide, --soak, --keyed and --peers are separate runs: choose one");
  if (opts.peers && opts.server !== "self") fail("--peers measures the self-hosted server only (npm start)");
  return opts;
}

function fail(message) {
  console.error(`bench: ${message}`);
  process.exit(2);
}
