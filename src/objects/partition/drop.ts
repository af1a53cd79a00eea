// Deleting a queue (`Partition.drop`) in bounded steps, as a purge is
// (purge.ts): the first transaction marks this incarnation dropped, so every
// later request for it is refused and its messages are invisible from that
// moment, and resets counters, series and schedules; then each transaction
// deletes at most PURGE_CHUNK of the old messages, with the object serving
// other calls between steps (a new incarnation of the name among them), and
// the last step forgets the dedup records, receive attempts and FIFO groups.
// A drop cut short by a crash leaves invisible messages behind: dropping
// again, the new incarnation's first contact (Engine.admit), or retention
// removes them.
import { PURGE_CHUNK } from "../../shared/limits.js";
import type { Engine } from "./engine.js";
import { purgeInChunks } from "./purge.js";

export interface DropHost {
  engine: Engine;
  /** One transaction, with the row tally written (Partition.#atomically + #flushed). */
  atomically<T>(work: () => T): T;
  /** After the first step: long polls of the dropped incarnation end with its refusal. */
  dropped(): void;
}

/** Marks `incarnation` dropped and removes its messages in steps; answers how many it removed. */
export async function dropInChunks(host: DropHost, incarnation: number, limit = PURGE_CHUNK): Promise<number> {
  const { engine, atomically } = host;
  const still = () => engine.meta.state.incarnation === incarnation && engine.meta.state.dropped;
  const result = await purgeInChunks({
    begin: () => {
      const upTo = atomically(() => {
        // no dead-letter move of a deleted queue's messages while its steps run
        engine.meta.set({ incarnation, dropped: true, moveTask: null, deadLetter: null });
        engine.meta.resetCounters();
        engine.series.clear();
        engine.schedules.clear();
        return engine.store.lastSeq();
      });
      host.dropped();
      return { ok: true, upTo };
    },
    // null once the name has a newer incarnation (whose admit wiped the rest).
    step: (upTo, stepLimit) => atomically(() => {
      if (!still()) return null;
      const removed = engine.store.removeUpTo(upTo, stepLimit, Date.now());
      if (removed < stepLimit) engine.clear();
      return removed;
    }),
  }, limit);
  return result.ok ? result.purged : 0;
}
