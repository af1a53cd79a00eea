// What the self-hosted server tells the Worker about the machine it runs on
// (src/worker/control.ts receives it): that its disk is nearly full, or that
// it is shutting down. Kept per isolate: the self-hosted server runs one, and
// re-sends the state every few seconds, so a restarted runtime learns it again.
// A deployed Worker never hears from it; both stay off.
import { storageFull } from "./bulkhead.js";

export interface StorageReport {
  /** Bytes free on the data directory's file system. */
  free: number;
  /** Sends are refused while `free` is below this. */
  reserve: number;
}

interface ServerState {
  /** Set while the disk is below its reserve. */
  storageLow: StorageReport | null;
  /** Set from the moment a drain began: new requests are turned away. */
  draining: boolean;
}

export const serverState: ServerState = { storageLow: null, draining: false };

/** Sends stop at the reserve, before SQLite meets a full disk, so receives and deletes still find room for their writes. */
export function refuseSendWhileStorageLow(): void {
  const low = serverState.storageLow;
  if (low) throw storageFull("server", low.free, low.reserve);
}
