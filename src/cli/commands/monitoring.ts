// Seeing queues from the terminal: `edgeq queues stats <name> --watch` (a
// live view: counts now and sparklines of the last hour's series),
// `edgeq peek <name>` (messages without leasing them) and
// `edgeq queues alerts <name>` (thresholds and what fires).
/// <reference types="node" />
import { Command, InvalidArgumentError } from "commander";
import { MAX_PEEK_MESSAGES } from "../../shared/limits.js";
import type { PeekOptions, Queue, QueueSeries, QueueStats } from "../../sdk/index.js";
import { contextOf, integer } from "../context.js";
import { formatTime, oneLine, printFields, printJson, printJsonLine, printLine, printTable } from "../output.js";

const BARS = "▁▂▃▄▅▆▇█";

/** The values as one line of block characters scaled to their maximum. */
export function sparkline(values: number[]): string {
  const max = Math.max(0, ...values);
  return values.map((value) => (max === 0 ? BARS[0] : BARS[Math.min(BARS.length - 1, Math.round((value / max) * (BARS.length - 1)))])).join("");
}

export interface WatchFlags {
  watch?: boolean;
  interval: number;
  count?: number;
}

/** `queues stats`: once, or with --watch every --interval seconds (--count times, or until interrupted). */
export async function showStats(queue: Queue, flags: WatchFlags, json: boolean): Promise<void> {
  if (!flags.watch) {
    const stats = await queue.stats();
    if (json) return printJson(stats);
    return printFields({ queue: queue.name, ...stats });
  }
  const live = process.stdout.isTTY && !json;
  let stop = false;
  const interrupt = () => (stop = true);
  process.once("SIGINT", interrupt);
  try {
    for (let round = 0; !stop && (flags.count === undefined || round < flags.count); round++) {
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, flags.interval * 1000));
      if (stop) break;
      const [stats, { series }] = await Promise.all([queue.stats(), queue.metrics({ since: Date.now() - 3_600_000 })]);
      if (json) printJsonLine({ at: Date.now(), queue: queue.name, stats, series });
      else render(queue.name, stats, series, live, flags.interval);
    }
  } finally {
    process.removeListener("SIGINT", interrupt);
  }
}

function render(name: string, stats: QueueStats, series: QueueSeries, live: boolean, interval: number): void {
  if (live) process.stdout.write("\x1b[H\x1b[2J");
  printLine(`${name}  ${formatTime(Date.now())}${live ? `  (every ${interval}s, Ctrl-C to stop)` : ""}`);
  printTable(["VISIBLE", "IN FLIGHT", "DELAYED", "OLDEST", "SENT", "RECEIVED", "DELETED", "REDELIVERED", "DEAD-LETTERED", "PUSHED"], [[
    String(stats.visible), String(stats.inFlight), String(stats.delayed), `${stats.oldestMessageAgeSeconds}s`,
    String(stats.sent), String(stats.received), String(stats.deleted), String(stats.redelivered), String(stats.deadLettered), String(stats.pushed),
  ]]);
  const last = (values: number[]) => values.at(-1) ?? 0;
  const rows: [string, number[], string][] = [
    ["depth", series.depth, String(last(series.depth))],
    ["in flight", series.inFlight, String(last(series.inFlight))],
    ["sent/min", series.sent, String(last(series.sent))],
    ["received/min", series.received, String(last(series.received))],
    ["deleted/min", series.deleted, String(last(series.deleted))],
    ["oldest age (s)", series.oldestMessageAgeSeconds, String(last(series.oldestMessageAgeSeconds))],
  ];
  printLine("last hour, one character a minute:");
  for (const [label, values, now] of rows) printLine(`  ${label.padEnd(15)} ${sparkline(values)} ${now}`);
}

export function peekCommand(): Command {
  return new Command("peek")
    .description("show messages without leasing them: receive counts and visibility stay as they are (needs the peek action)")
    .argument("<queue>", "queue name")
    .option("--state <state>", "visible (default), inflight or delayed", state)
    .option("-n, --limit <count>", `messages per page (1..${MAX_PEEK_MESSAGES})`, integer(1, MAX_PEEK_MESSAGES), 10)
    .option("--all", "follow the cursor through every page")
    .action(async (name: string, options: { state?: PeekOptions["state"]; limit: number; all?: boolean }, command: Command) => {
      const { client, settings } = contextOf(command);
      const queue = client.queue(name);
      let cursor: string | undefined;
      const all = [];
      do {
        const page = await queue.peek({ state: options.state, limit: options.limit, cursor });
        all.push(...page.messages);
        cursor = page.cursor ?? undefined;
      } while (options.all && cursor);
      if (settings.json) return printJson(all);
      if (all.length === 0) return printLine(`no ${options.state ?? "visible"} messages in ${name}`);
      printTable(["ID", "STATE", "RECEIVES", "SENT", "BODY"], all.map((m) => [m.id, m.state, String(m.receiveCount), formatTime(m.sentAt), oneLine(m.body)]));
    });
}

export function alertsCommand(): Command {
  return new Command("alerts")
    .description("show a queue's alert thresholds and what fires; with flags, set them (an alert not given is off)")
    .argument("<name>", "queue name")
    .option("--depth <count>", "fire while more messages than this are stored", integer(0, Number.MAX_SAFE_INTEGER))
    .option("--oldest-age <seconds>", "fire while the oldest message is older than this", integer(0, Number.MAX_SAFE_INTEGER))
    .option("--dlq-depth <count>", "fire while the dead-letter queue holds more than this", integer(0, Number.MAX_SAFE_INTEGER))
    .option("--webhook <url>", "POST each change of an alert's state here as JSON")
    .option("--off", "remove every alert")
    .action(async (name: string, options: { depth?: number; oldestAge?: number; dlqDepth?: number; webhook?: string; off?: boolean }, command: Command) => {
      const { client, settings } = contextOf(command);
      const queue = client.queue(name);
      const setting = options.off || [options.depth, options.oldestAge, options.dlqDepth, options.webhook].some((value) => value !== undefined);
      const alerts = setting
        ? await queue.setAlerts(options.off ? {} : { depth: options.depth ?? null, oldestAgeSeconds: options.oldestAge ?? null, deadLetterDepth: options.dlqDepth ?? null, webhookUrl: options.webhook ?? null })
        : await queue.alerts();
      if (settings.json) return printJson(alerts);
      printFields({ queue: name, ...alerts, firing: alerts.firing.length === 0 ? "none" : alerts.firing.join(", ") });
    });
}

function state(value: string): PeekOptions["state"] {
  if (value === "visible" || value === "inflight" || value === "delayed") return value;
  throw new InvalidArgumentError(`must be visible, inflight or delayed, got "${value}"`);
}
