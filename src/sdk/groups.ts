// FIFO message groups inside one consumer: the server hands out several
// messages of a group in one receive, in order, and expects them processed in
// that order. GroupTurns runs each message's work only after the previous
// message of its group has settled, while different groups run side by side.
import type { Message } from "./types.js";

export class GroupTurns<T> {
  /** The last work queued per group; the next one of the group waits for it. */
  readonly #tails = new Map<string, Promise<T>>();

  /**
   * Runs `work` once the group's previous work has settled, handing it that
   * work's outcome (undefined when nothing of the group was waiting). Work
   * without a group runs at once. `work` must not reject.
   */
  run(group: string | undefined, work: (previous: T | undefined) => Promise<T>): Promise<T> {
    if (group === undefined) return work(undefined);
    const previous = this.#tails.get(group);
    const outcome = previous ? previous.then(work) : work(undefined);
    this.#tails.set(group, outcome);
    const forget = () => {
      if (this.#tails.get(group) === outcome) this.#tails.delete(group);
    };
    outcome.then(forget, forget);
    return outcome;
  }

  /** Groups with work queued or running. */
  get size(): number {
    return this.#tails.size;
  }
}

/**
 * The messages of one receive with each group's messages in sequence order
 * (the server sends them so; this makes the consumer not depend on it).
 * Messages without a group keep their places.
 */
export function inGroupOrder(messages: Message[]): Message[] {
  const byGroup = new Map<string, Message[]>();
  for (const message of messages) {
    if (message.messageGroupId === undefined) continue;
    const list = byGroup.get(message.messageGroupId) ?? [];
    list.push(message);
    byGroup.set(message.messageGroupId, list);
  }
  for (const list of byGroup.values()) list.sort((a, b) => compareSequence(a.sequenceNumber, b.sequenceNumber));
  const next = new Map<string, number>();
  return messages.map((message) => {
    const group = message.messageGroupId;
    if (group === undefined) return message;
    const index = next.get(group) ?? 0;
    next.set(group, index + 1);
    return byGroup.get(group)![index]!;
  });
}

/** Sequence numbers are decimal strings too long for a double. */
function compareSequence(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined || a === b) return 0;
  return a.length !== b.length ? a.length - b.length : a < b ? -1 : 1;
}
