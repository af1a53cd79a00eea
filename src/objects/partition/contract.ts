// What callers hand a Partition: which life of the queue a request is for,
// the settings the Catalog pushes, and the options of a receive.
import type { DeadLetterSettings } from "./meta.js";
import type { LeaseOptions } from "./lease.js";

/** Identifies which life of a queue a request belongs to (see `#admit`). */
export interface PartitionRef {
  incarnation: number;
}

/** What the Catalog pushes to each partition of a queue when its configuration changes. */
export interface PartitionSettings {
  retentionSeconds: number;
  /** Outside the queue's current partition range: accept no sends, deliver what is left. */
  draining: boolean;
  /** Messages/s above which this partition asks the Catalog for more partitions; 0 never. */
  splitThreshold: number;
  /** Messages/s this partition accepts (its share of the queue's sendRateLimit); 0 no limit. */
  sendRateLimit?: number;
  fifo?: boolean;
  deadLetter?: DeadLetterSettings | null;
}

export interface ReceiveOptions extends LeaseOptions {
  waitSeconds: number;
}
