// `edgeq queues ...`: create, list, get, update, purge, pause, resume, stats (--watch), alerts, delete, dlq-sources.
/// <reference types="node" />
import { createInterface } from "node:readline/promises";
import { Command } from "commander";
import { ATTRIBUTE_BOUNDS, type NumericAttributes, type QueueAttributes } from "../../shared/limits.js";
import type { QueueInfo } from "../../sdk/index.js";
import { UsageError } from "../config.js";
import { contextOf, integer } from "../context.js";
import { deliveryAttributes, withDeliveryFlags, type DeliveryFlags } from "../delivery-flags.js";
import { formatTime, printFields, printJson, printLine, printTable } from "../output.js";
import { alertsCommand, showStats, type WatchFlags } from "./monitoring.js";

/** Flag name -> attribute, shared by create and update. */
const ATTRIBUTE_FLAGS: [flag: string, attribute: keyof NumericAttributes, help: string][] = [
  ["--visibility-timeout <seconds>", "visibilityTimeout", "seconds a received message stays hidden"],
  ["--retention <seconds>", "messageRetentionPeriod", "seconds a message is kept"],
  ["--delay <seconds>", "delaySeconds", "default delivery delay of new messages"],
  ["--receive-wait <seconds>", "receiveMessageWaitTimeSeconds", "default long-poll wait of a receive"],
  ["--max-message-size <bytes>", "maximumMessageSize", "largest message accepted"],
  ["--partitions <count>", "partitions", "Partition objects the queue is spread over"],
  ["--split-threshold <per-second>", "splitThreshold", "messages per second into one partition above which the partition count doubles (0: never)"],
  ["--send-rate-limit <per-second>", "sendRateLimit", "messages per second accepted; more answer 429 Throttled (0: no limit)"],
  ["--max-in-flight-per-group <count>", "maxInFlightPerGroup", "standard queues: messages of one --group in flight at once, whatever the consumers (0: no limit)"],
];

function withAttributeFlags(command: Command): Command {
  for (const [flag, attribute, help] of ATTRIBUTE_FLAGS) {
    const [min, max] = ATTRIBUTE_BOUNDS[attribute];
    command.option(flag, `${help} (${min}..${max})`, integer(min, max));
  }
  return command;
}

function attributesFrom(options: Record<string, unknown>): Partial<NumericAttributes> {
  const attributes: Partial<NumericAttributes> = {};
  for (const [flag, attribute] of ATTRIBUTE_FLAGS) {
    const key = flag.slice(2, flag.indexOf(" ")).replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
    if (typeof options[key] === "number") attributes[attribute] = options[key];
  }
  return attributes;
}

function showQueue(queue: QueueInfo, json: boolean): void {
  if (json) return printJson(queue);
  printFields({ name: queue.name, ...queue.attributes, createdAt: formatTime(queue.createdAt), updatedAt: formatTime(queue.updatedAt) });
}

export function queuesCommand(): Command {
  const queues = new Command("queues").description("create, inspect and administer queues");

  const create = queues.command("create <name>").description("create a queue (succeeds if it exists with the same attributes)");
  withDeliveryFlags(withAttributeFlags(create), "create").action(async (name: string, options: DeliveryFlags & Record<string, unknown>, command: Command) => {
    const delivery = deliveryAttributes(options);
    const { client, settings } = contextOf(command);
    const queue = await client.createQueue(name, { ...attributesFrom(options), ...delivery });
    showQueue(await queue.get(), settings.json);
  });

  queues
    .command("list")
    .description("list queues, all pages")
    .option("--prefix <prefix>", "only queues whose name starts with this")
    .action(async (options: { prefix?: string }, command: Command) => {
      const { client, settings } = contextOf(command);
      const all: QueueInfo[] = [];
      for await (const queue of client.listQueues({ prefix: options.prefix, limit: 1000 })) all.push(queue);
      if (settings.json) return printJson(all);
      if (all.length === 0) return printLine("no queues");
      printTable(["NAME", "VISIBILITY", "RETENTION", "DELAY", "CREATED"], all.map((queue) => [
        queue.name, `${queue.attributes.visibilityTimeout}s`, `${queue.attributes.messageRetentionPeriod}s`, `${queue.attributes.delaySeconds}s`, formatTime(queue.createdAt),
      ]));
    });

  queues.command("get <name>").description("show a queue's attributes").action(async (name: string, _options, command: Command) => {
    const { client, settings } = contextOf(command);
    showQueue(await client.getQueue(name), settings.json);
  });

  withDeliveryFlags(withAttributeFlags(queues.command("update <name>").description("change a queue's attributes")), "update").action(async (name: string, options: DeliveryFlags & Record<string, unknown>, command: Command) => {
    const { client, settings } = contextOf(command);
    // --max-receives alone keeps the dead-letter queue in force.
    const current = options.maxReceives !== undefined && options.dlq === undefined ? (await client.getQueue(name)).attributes.redrivePolicy : undefined;
    const attributes = { ...attributesFrom(options), ...deliveryAttributes(options, current) };
    if (Object.keys(attributes).length === 0) {
      const flags = [...ATTRIBUTE_FLAGS.map(([flag]) => flag.split(" ")[0]), "--content-dedup", "--dedup-scope", "--throughput-limit", "--dlq", "--max-receives", "--redrive-allow"];
      throw new UsageError(`nothing to update: give at least one of ${flags.join(", ")}`);
    }
    showQueue(await client.updateQueue(name, attributes), settings.json);
  });

  queues.command("purge <name>").description("delete every message in a queue").action(async (name: string, _options, command: Command) => {
    const { client, settings } = contextOf(command);
    const purged = await client.queue(name).purge();
    if (settings.json) printJson({ queue: name, purged });
    else printLine(`purged ${purged} message${purged === 1 ? "" : "s"} from ${name}`);
  });

  for (const [verb, help] of [["pause", "stop delivery: sends are still stored, receives and pushes get nothing"], ["resume", "start delivery again"]] as const) {
    queues.command(`${verb} <name>`).description(help).action(async (name: string, _options, command: Command) => {
      const { client, settings } = contextOf(command);
      const queue = await client.queue(name)[verb]();
      if (settings.json) printJson({ queue: name, paused: queue.attributes.paused === true });
      else printLine(`${verb === "pause" ? "paused" : "resumed"} ${name}`);
    });
  }

  queues
    .command("stats <name>")
    .description("message counts and counters; --watch for a live view with the last hour's series")
    .option("-w, --watch", "refresh every --interval seconds until interrupted (--json: one JSON line per refresh)")
    .option("--interval <seconds>", "seconds between refreshes (1..3600)", integer(1, 3600), 5)
    .option("--count <n>", "stop after this many refreshes", integer(1, 1_000_000))
    .action(async (name: string, options: WatchFlags, command: Command) => {
      const { client, settings } = contextOf(command);
      await showStats(client.queue(name), options, settings.json);
    });

  queues.addCommand(alertsCommand());

  queues
    .command("dlq-sources <name>")
    .description("queues whose dead-letter queue is this one")
    .action(async (name: string, _options, command: Command) => {
      const { client, settings } = contextOf(command);
      const sources = await client.queue(name).deadLetterSources();
      if (settings.json) printJson({ queue: name, sources });
      else if (sources.length === 0) printLine(`no queue uses ${name} as its dead-letter queue`);
      else for (const source of sources) printLine(source);
    });

  queues
    .command("delete <name>")
    .description("delete a queue and all its messages (needs an admin key)")
    .option("-y, --yes", "do not ask for confirmation")
    .action(async (name: string, options: { yes?: boolean }, command: Command) => {
      const { client, settings } = contextOf(command);
      if (!options.yes) await confirm(name);
      await client.deleteQueue(name);
      if (settings.json) printJson({ queue: name, deleted: true });
      else printLine(`deleted queue ${name}`);
    });

  return queues;
}

async function confirm(name: string): Promise<void> {
  if (!process.stdin.isTTY) throw new UsageError(`refusing to delete queue ${name} without confirmation: stdin is not a terminal, pass --yes`);
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`Delete queue ${name} and all its messages? Type its name to confirm: `);
    if (answer.trim() !== name) throw new UsageError(`not deleted: the name typed did not match ${name}`);
  } finally {
    prompt.close();
  }
}
