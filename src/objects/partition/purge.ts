// A purge in bounded steps: the first transaction fixes the last sequence
// number to remove (messages sent after the purge began stay) and forgets the
// dedup records; then each transaction deletes at most PURGE_CHUNK of the
// oldest of those, and between two the object yields to its event loop, so
// sends, receives and deletes that arrived meanwhile run between the steps
// instead of waiting for a million-row DELETE. A purge cut short by a crash
// has removed a prefix of the queue; purging again removes the rest.
import { PURGE_CHUNK } from "../../shared/limits.js";
import type { Result } from "../../shared/types.js";

export interface PurgeHost {
  begin(): Result<{ upTo: number }>;
  /** Deletes up to `limit` messages at or below `upTo` in one transaction; null when the queue's life changed meanwhile. */
  step(upTo: number, limit: number): number | null;
}

export async function purgeInChunks(host: PurgeHost, limit = PURGE_CHUNK): Promise<Result<{ purged: number }>> {
  const begun = host.begin();
  if (!begun.ok) return begun;
  let purged = 0;
  for (;;) {
    const removed = host.step(begun.upTo, limit);
    if (removed === null) break;
    purged += removed;
    if (removed < limit) break;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return { ok: true, purged };
}
