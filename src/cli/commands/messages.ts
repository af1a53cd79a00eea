// `edgeq send`, `edgeq receive` and `edgeq tail`: messages in and out.
/// <reference types="node" />
import { readFile } from "node:fs/promises";
import cliProgress from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import { MAX_BATCH_ENTRIES, MAX_NATIVE_DELAY_SECONDS, MAX_PRIORITY, MAX_VISIBILITY_TIMEOUT, MAX_WAIT_SECONDS } from "../../shared/limits.js";
import type { AttributeInput, Message, Queue, SendOptions } from "../../sdk/index.js";
import { UsageError } from "../config.js";
import { contextOf, integer } from "../context.js";
import { oneLine, printJson, printJsonLine, printLine, printTable } from "../output.js";

/** Sends awaiting an answer at once; the producer batches them ten to a request. */
const WINDOW = 400;

export function sendCommand(): Command {
  return new Command("send")
    .description("send one message, or every line of a file (--file) as its own message")
    .argument("<queue>", "queue name")
    .argument("[body]", "message body")
    .option("-f, --file <path>", "send each non-empty line of this file (- for stdin)")
    .option("--delay <seconds>", `delivery delay, up to the queue's retention period (0..${MAX_NATIVE_DELAY_SECONDS})`, integer(0, MAX_NATIVE_DELAY_SECONDS))
    .option("--deliver-at <time>", "deliver at this time instead, ISO 8601 (e.g. 2030-01-31T09:00:00Z)", isoTime)
    .option("-a, --attribute <name=value>", "a String attribute; repeat for more", collect)
    .option("-g, --group <id>", "FIFO: message group; a group's messages are delivered in order (with --file: every line, in file order)")
    .option("--dedup-id <id>", "FIFO: deduplication id; a repeat within 5 minutes is not enqueued again (not with --file)")
    .option("-p, --priority <n>", `standard queues: 0..${MAX_PRIORITY}, higher received first (default 0)`, integer(0, MAX_PRIORITY))
    .action(async (queueName: string, body: string | undefined, options: SendFlags, command: Command) => {
      if (options.delay !== undefined && options.deliverAt !== undefined) throw new UsageError("give either --delay or --deliver-at, not both");
      const { client, settings } = contextOf(command);
      const send: SendOptions = {
        delaySeconds: options.delay,
        deliverAt: options.deliverAt,
        attributes: parseAttributes(options.attribute ?? []),
        messageGroupId: options.group,
        messageDeduplicationId: options.dedupId,
        priority: options.priority,
      };
      const queue = client.queue(queueName);
      if (options.file === undefined) {
        if (body === undefined) throw new UsageError("give a message body, or --file with one message per line");
        const sent = await queue.send(body, send);
        if (settings.json) printJson(sent);
        else printLine(`sent ${sent.id}${sent.sequenceNumber === undefined ? "" : ` (sequence ${sent.sequenceNumber})`}`);
        return;
      }
      if (body !== undefined) throw new UsageError("give either a body or --file, not both");
      if (options.dedupId !== undefined) throw new UsageError("--dedup-id would make every line of --file a duplicate of the first; use a queue with --content-dedup instead");
      const text = options.file === "-" ? await readStdin() : await readFile(options.file, "utf8");
      const lines = text.split(/\r?\n/).filter((line) => line.length > 0);
      const { sent, failures } = await sendLines(queue, lines, send, !settings.json && process.stderr.isTTY === true);
      if (settings.json) printJson({ queue: queueName, sent, failed: failures.length });
      else printLine(`sent ${sent} message${sent === 1 ? "" : "s"} to ${queueName}`);
      if (failures.length > 0) {
        const first = failures[0]!;
        throw new Error(`${failures.length} of ${lines.length} messages were not sent; line ${first.line}: ${(first.error as Error).message}`);
      }
    });
}

async function sendLines(queue: Queue, lines: string[], options: SendOptions, progress: boolean) {
  const bar = progress ? new cliProgress.SingleBar({ format: "sending [{bar}] {value}/{total} messages", stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic) : null;
  bar?.start(lines.length, 0);
  let sent = 0;
  const failures: { line: number; error: unknown }[] = [];
  const pending = new Set<Promise<void>>();
  for (const [index, line] of lines.entries()) {
    const task: Promise<void> = queue.send(line, options).then(
      () => {
        sent++;
        bar?.increment();
      },
      (error: unknown) => void failures.push({ line: index + 1, error }),
    ).finally(() => pending.delete(task));
    pending.add(task);
    if (pending.size >= WINDOW) await Promise.race(pending);
  }
  await Promise.all(pending);
  bar?.stop();
  failures.sort((a, b) => a.line - b.line);
  return { sent, failures };
}

interface SendFlags {
  file?: string;
  delay?: number;
  deliverAt?: number;
  attribute?: string[];
  group?: string;
  dedupId?: string;
  priority?: number;
}

function isoTime(value: string): number {
  const at = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at)) throw new InvalidArgumentError(`must be an ISO 8601 time such as 2030-01-31T09:00:00Z, got "${value}"`);
  return at;
}

export function receiveCommand(): Command {
  return new Command("receive")
    .description("receive messages once; they stay leased for the visibility timeout unless --delete (or `edgeq delete`/`edgeq release` by receipt handle)")
    .argument("<queue>", "queue name")
    .option("-n, --max <count>", `messages to receive (1..${MAX_BATCH_ENTRIES})`, integer(1, MAX_BATCH_ENTRIES), 1)
    .option("-w, --wait <seconds>", `long-poll up to this long for a message (0..${MAX_WAIT_SECONDS})`, integer(0, MAX_WAIT_SECONDS), 0)
    .option("--visibility-timeout <seconds>", `lease length (0..${MAX_VISIBILITY_TIMEOUT}); default: the queue's`, integer(0, MAX_VISIBILITY_TIMEOUT))
    .option("-d, --delete", "at most once: the server deletes the messages as it returns them, so they are never delivered again")
    .option("--attempt-id <id>", "FIFO: repeating a receive with the same id within 5 minutes returns the same messages")
    .action(async (queueName: string, options: { max: number; wait: number; visibilityTimeout?: number; delete?: boolean; attemptId?: string }, command: Command) => {
      const { client, settings } = contextOf(command);
      const messages = await client.queue(queueName).receive({
        maxMessages: options.max,
        waitSeconds: options.wait,
        visibilityTimeout: options.visibilityTimeout,
        ...(options.delete ? { deleteOnReceive: true } : {}),
        ...(options.attemptId === undefined ? {} : { receiveRequestAttemptId: options.attemptId }),
      });
      if (settings.json) printJson(messages);
      else if (messages.length === 0) printLine("no messages");
      else if (messages.some((message) => message.messageGroupId !== undefined)) {
        printTable(["ID", "GROUP", "SEQUENCE", "RECEIVES", "RECEIPT HANDLE", "BODY"], messages.map((message) => [message.id, message.messageGroupId ?? "", message.sequenceNumber ?? "", String(message.receiveCount), message.receiptHandle, oneLine(message.body)]));
      } else printTable(["ID", "RECEIVES", "RECEIPT HANDLE", "BODY"], messages.map((message) => [message.id, String(message.receiveCount), message.receiptHandle, oneLine(message.body)]));
      // Leased messages come back when the lease ends unless acknowledged or handed back by handle.
      if (!settings.json && messages.length > 0 && !options.delete) process.stderr.write(`leased; acknowledge with \`edgeq delete ${queueName} HANDLE...\` or hand back with \`edgeq release ${queueName} HANDLE...\`\n`);
    });
}

export function tailCommand(): Command {
  return new Command("tail")
    .description("consume and print messages as they arrive, deleting each once printed, until Ctrl-C")
    .argument("<queue>", "queue name")
    .option("-c, --concurrency <count>", "messages handled at once", integer(1, 100), 1)
    .option("--visibility-timeout <seconds>", `lease length (1..${MAX_VISIBILITY_TIMEOUT})`, integer(1, MAX_VISIBILITY_TIMEOUT), 30)
    .option("--limit <count>", "stop after this many messages", integer(1, Number.MAX_SAFE_INTEGER))
    .action(async (queueName: string, options: { concurrency: number; visibilityTimeout: number; limit?: number }, command: Command) => {
      const { client, settings } = contextOf(command);
      let printed = 0;
      const print = (message: Message) => {
        if (options.limit !== undefined && printed >= options.limit) throw new Error("limit reached");
        printed++;
        if (settings.json) printJsonLine({ id: message.id, body: message.body, receiveCount: message.receiveCount, sentAt: message.sentAt, attributes: message.attributes, messageGroupId: message.messageGroupId, sequenceNumber: message.sequenceNumber });
        else printLine(oneLine(message.body));
        if (options.limit !== undefined && printed >= options.limit) void consumer.stop();
      };
      // Pushed over WebSocket (Node 22+ has one built in); on a Node without it, long polling.
      const queue = client.queue(queueName);
      const consumer = typeof globalThis.WebSocket === "function"
        ? queue.subscribe(print, { credits: options.concurrency, visibilityTimeout: options.visibilityTimeout, retryDelay: 0 })
        : queue.consume(print, { concurrency: options.concurrency, batchSize: Math.min(MAX_BATCH_ENTRIES, options.concurrency), visibilityTimeout: options.visibilityTimeout, retryDelay: 0 });
      const stop = () => void consumer.stop();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        await consumer.done;
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    });
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseAttributes(pairs: string[]): AttributeInput | undefined {
  if (pairs.length === 0) return undefined;
  const attributes: AttributeInput = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--attribute must look like name=value, got "${pair}"`);
    attributes[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return attributes;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
