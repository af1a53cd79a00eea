// System attributes: what travels with a message besides its sender's body and
// attributes, kept in the clear in the Partition's `system` column because the
// objects act on them (a dead-letter move records where a message came from)
// or clients are shown them (SQS SenderId). Nothing here is message content.

export interface SystemAttributes {
  /** Set by a dead-letter move: the queue the message was dead-lettered from. */
  deadLetterSourceQueue?: string;
  /** Access key id of the sender (SQS SenderId). */
  senderId?: string;
  /** A schedule's message: the id its envelope was sealed under (the schedule's template, core/schedules.ts), not the message's own. */
  sealedAs?: string;
}

export function parseSystem(text: string | null | undefined): SystemAttributes {
  return text ? (JSON.parse(text) as SystemAttributes) : {};
}

/** The JSON the `system` column stores, or null when nothing is set. */
export function encodeSystem(system: SystemAttributes): string | null {
  const kept = Object.fromEntries(Object.entries(system).filter(([, value]) => value !== undefined));
  return Object.keys(kept).length > 0 ? JSON.stringify(kept) : null;
}

/** What a receiver is shown: sealedAs is the envelope's business (core/envelope.ts). */
export function withoutSeal(system: SystemAttributes): Omit<SystemAttributes, "sealedAs"> {
  const { sealedAs: _, ...rest } = system;
  return rest;
}
