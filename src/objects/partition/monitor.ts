// What a Partition tells about itself over time, kept off the hot path: a
// command batch only marks that something changed (in memory); the alarm at
// the start of the next minute writes that minute's series row (series.ts)
// and reports the partition's numbers to its Catalog, which keeps them per
// queue so that `/metrics` reads one table instead of calling every
// partition. An idle partition writes nothing and reports nothing; one whose
// in-flight or delayed messages change state with time alone wakes for the
// minute that happens in.
import { partitionIdentity } from "../../shared/naming.js";
import type { Failure, PartitionStats } from "../../shared/types.js";
import type { PartitionRef } from "./contract.js";
import type { Engine } from "./engine.js";
import { minuteOf, type Series } from "./series.js";
import { LEASE } from "./store.js";

export interface MonitorHost {
  env: Env;
  name: string | undefined;
  /** The numbers as `stats` answers them, now. */
  stats(now: number): PartitionStats;
  atomically<T>(work: () => T): T;
}

export class Monitor {
  readonly #engine: Engine;
  readonly #series: Series;
  #lastMinute: number | null;
  /** Something changed since the last series row / since the last report (true after a restart: unknown). */
  #changed = true;
  #unreported = true;
  /** When a message of the last snapshot next changes state by time alone (a lease expires, a delay ends). */
  #nextChangeAt: number | null = null;

  constructor(engine: Engine) {
    this.#engine = engine;
    this.#series = engine.series;
    this.#lastMinute = engine.series.lastMinute();
  }

  /** The queue life this partition serves, and why it serves none (dropped), if so. */
  #current(): { ref: PartitionRef; refusal: Failure | null } {
    const ref = { incarnation: this.#engine.meta.state.incarnation };
    return { ref, refusal: this.#engine.refusal(ref) };
  }

  touch(): void {
    this.#changed = true;
    this.#unreported = true;
  }

  /** A dropped queue (or a name that is not a partition's) has nothing to write or report: no more wake-ups. */
  #forget(): void {
    this.#changed = false;
    this.#unreported = false;
    this.#nextChangeAt = null;
  }

  /** When the alarm should next write a row or report: the start of the minute after the change, or null. */
  dueAt(now: number): number | null {
    if (this.#changed || this.#unreported) return (minuteOf(now) + 1) * 60_000;
    if (this.#nextChangeAt === null) return null;
    return (minuteOf(Math.max(now, this.#nextChangeAt)) + 1) * 60_000;
  }

  /** The alarm's two monitoring steps. */
  steps(host: MonitorHost): [string, () => Promise<void> | void][] {
    return [
      ["series", () => {
        if (this.#engine.takeActivity()) this.touch();
        const now = Date.now();
        const minute = minuteOf(now);
        const timeMoved = this.#nextChangeAt !== null && this.#nextChangeAt <= now;
        if (this.#current().refusal) return this.#forget(); // dropped: nothing more to show
        if (!(this.#changed || timeMoved) || (this.#lastMinute !== null && minute <= this.#lastMinute)) return;
        host.atomically(() => this.#series.record(minute, host.stats(now)));
        this.#lastMinute = minute;
        this.#changed = false;
        if (timeMoved) this.#unreported = true;
        const next = [this.#engine.store.nextIn(LEASE.IN_FLIGHT, now), this.#engine.store.nextIn(LEASE.AVAILABLE, now)].filter((at): at is number => at !== null);
        this.#nextChangeAt = next.length > 0 ? Math.min(...next) : null;
      }],
      ["report", async () => {
        if (!this.#unreported) return;
        const identity = partitionIdentity(host.name);
        const { ref, refusal } = this.#current();
        if (!identity || refusal) return this.#forget();
        // Cleared before the call: a change that lands while it is away marks it again.
        this.#unreported = false;
        try {
          const catalog = host.env.CATALOG.get(host.env.CATALOG.idFromName(identity.account));
          await catalog.reportPartition(identity.queue, ref.incarnation, identity.index, host.stats(Date.now()));
        } catch (error) {
          this.#unreported = true;
          throw error;
        }
      }],
    ];
  }
}
