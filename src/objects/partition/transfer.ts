// Moving messages from one queue into another from inside a Durable Object:
// dead-letter moves and redrive tasks. The messages keep their id, sealed
// body (the envelope names the key it was sealed under) and original sent
// time. A send is acknowledged by the destination before the caller deletes
// its own copy: at-least-once, never lost.
import { keyPartition, partitionName } from "../../shared/naming.js";
import { problem } from "../../shared/problems.js";
import type { Failure, NewMessage, QueueRecord, Result, SentMessage } from "../../shared/types.js";

export type TransferResult = { ok: true; sent: SentMessage[] } | Failure;

export async function sendToQueue(env: Env, account: string, queueName: string, messages: NewMessage[]): Promise<TransferResult> {
  const catalog = env.CATALOG.get(env.CATALOG.idFromName(account));
  const sent = new Map<string, SentMessage>();
  let pending = messages;
  for (let attempt = 0; attempt < 3 && pending.length > 0; attempt++) {
    const found = await catalog.getQueue(queueName);
    if (!found.ok) return { ok: false, ...problem("targetMissing", { code: found.code, field: "deadLetterQueue", queue: queueName }) };
    const queue = found.queue;
    const groups = new Map<number, NewMessage[]>();
    for (const message of pending) {
      const index = message.groupId && queue.attributes.fifoQueue ? keyPartition(queue.attributes.partitions, message.groupId) : Math.floor(Math.random() * queue.attributes.partitions);
      groups.set(index, [...(groups.get(index) ?? []), message]);
    }
    const retry: NewMessage[] = [];
    for (const [index, batch] of groups) {
      const result = await sendBatch(env, account, queue, index, batch);
      if (result.ok) {
        for (const message of result.messages) sent.set(message.id, message);
      } else if (result.code === "PartitionDraining" || result.code === "QueueDoesNotExist") {
        retry.push(...batch); // a stale map or a recreated queue: ask the Catalog again
      } else {
        return result;
      }
    }
    pending = retry;
  }
  if (pending.length > 0) return { ok: false, ...problem("draining", { code: "PartitionDraining", queue: queueName }) };
  return { ok: true, sent: messages.map((message) => sent.get(message.id)!) };
}

function sendBatch(env: Env, account: string, queue: QueueRecord, index: number, batch: NewMessage[]): Promise<Result<{ messages: SentMessage[] }>> {
  const stub = env.PARTITION.get(env.PARTITION.idFromName(partitionName(account, queue.name, index)));
  return stub.send({ incarnation: queue.incarnation }, queue.attributes.messageRetentionPeriod, batch);
}
