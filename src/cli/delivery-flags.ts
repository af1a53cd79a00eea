// The flags of `queues create` and `queues update` for delivery semantics
// (FIFO, deduplication, dead-letter and redrive-allow policies), turned into
// queue attributes. The server checks combinations against other queues; this
// only catches what a flag alone can get wrong, before any request.
import { Option, type Command } from "commander";
import { MAX_RECEIVE_COUNT, type DeliveryAttributes, type RedriveAllowPolicy } from "../shared/limits.js";
import { UsageError } from "./config.js";
import { integer } from "./context.js";

export interface DeliveryFlags {
  fifo?: boolean;
  contentDedup?: boolean;
  dedupScope?: DeliveryAttributes["deduplicationScope"];
  throughputLimit?: DeliveryAttributes["fifoThroughputLimit"];
  /** A queue name; false for --no-dlq. */
  dlq?: string | false;
  maxReceives?: number;
  redriveAllow?: string;
}

export function withDeliveryFlags(command: Command, mode: "create" | "update"): Command {
  if (mode === "create") {
    command.option("--fifo", "a FIFO queue: order and exactly-once processing per message group (the name must end in .fifo)");
  }
  command.option("--content-dedup", "FIFO: deduplicate by the body's SHA-256 when a send has no dedup id");
  if (mode === "update") command.option("--no-content-dedup", "FIFO: stop content-based deduplication");
  command.addOption(new Option("--dedup-scope <scope>", "FIFO: deduplicate across the queue or within each message group").choices(["queue", "messageGroup"]));
  command.addOption(new Option("--throughput-limit <limit>", "FIFO: perMessageGroupId spreads groups over partitions (with --dedup-scope messageGroup)").choices(["perQueue", "perMessageGroupId"]));
  command
    .option("--dlq <queue>", "dead-letter queue for messages received more than --max-receives times")
    .option("--max-receives <count>", `receives before a message moves to the dead-letter queue (1..${MAX_RECEIVE_COUNT})`, integer(1, MAX_RECEIVE_COUNT));
  if (mode === "update") command.option("--no-dlq", "remove the dead-letter queue (redrive policy)");
  command.option("--redrive-allow <policy>", "which queues may use this one as their dead-letter queue: allowAll, denyAll or byQueue:q1,q2");
  return command;
}

/**
 * The attributes the flags ask for. `current` is the redrive policy in force,
 * so that `update --max-receives N` alone changes only the count.
 */
export function deliveryAttributes(flags: DeliveryFlags, current?: DeliveryAttributes["redrivePolicy"]): Partial<DeliveryAttributes> {
  const attributes: Partial<DeliveryAttributes> = {};
  if (flags.fifo) attributes.fifoQueue = true;
  if (flags.contentDedup !== undefined) attributes.contentBasedDeduplication = flags.contentDedup;
  if (flags.dedupScope) attributes.deduplicationScope = flags.dedupScope;
  if (flags.throughputLimit) attributes.fifoThroughputLimit = flags.throughputLimit;
  if (flags.dlq === false) {
    if (flags.maxReceives !== undefined) throw new UsageError("--max-receives needs a dead-letter queue; it cannot go with --no-dlq");
    attributes.redrivePolicy = null;
  } else if (flags.dlq !== undefined || flags.maxReceives !== undefined) {
    const deadLetterQueue = flags.dlq ?? current?.deadLetterQueue;
    const maxReceiveCount = flags.maxReceives ?? current?.maxReceiveCount;
    if (deadLetterQueue === undefined) throw new UsageError("--max-receives needs --dlq <queue>: the queue to move messages to");
    if (maxReceiveCount === undefined) throw new UsageError(`--dlq needs --max-receives <count> (1..${MAX_RECEIVE_COUNT}): how many receives before a message moves to ${deadLetterQueue}`);
    attributes.redrivePolicy = { deadLetterQueue, maxReceiveCount };
  }
  if (flags.redriveAllow !== undefined) attributes.redriveAllowPolicy = redriveAllow(flags.redriveAllow);
  return attributes;
}

function redriveAllow(value: string): RedriveAllowPolicy {
  if (value === "allowAll" || value === "denyAll") return { redrivePermission: value };
  const match = /^byQueue:(.+)$/.exec(value);
  const sourceQueues = match?.[1]!.split(",").map((name) => name.trim()).filter((name) => name.length > 0) ?? [];
  if (sourceQueues.length === 0) throw new UsageError(`--redrive-allow must be allowAll, denyAll or byQueue:<queue>[,<queue>...], got "${value}"`);
  return { redrivePermission: "byQueue", sourceQueues };
}
