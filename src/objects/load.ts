// How a Partition notices it is hot: it counts sends over fixed windows (two
// integers in meta, written once per window) and, when a window ran above
// the queue's split threshold, reports the rate to the Catalog from its alarm,
// so no send ever waits on the Catalog and a hot partition reports at most
// once a window.
import { LOAD_WINDOW_MS } from "../shared/limits.js";
import type { Exec } from "./fifo.js";

export interface LoadReport {
  rate: number;
  incarnation: number;
}

export interface LoadMeta {
  split_threshold: number;
  load_window_start: number;
  load_window_sent: number;
}

/** Closes the window if it is over; returns a report when the closed window was hot. */
export function measureLoad(exec: Exec, meta: LoadMeta, incarnation: number, now: number): LoadReport | null {
  const elapsed = now - meta.load_window_start;
  if (elapsed < LOAD_WINDOW_MS) return null;
  const [{ sent }] = exec<{ sent: number }>("SELECT sent FROM counters WHERE id = 1") as [{ sent: number }];
  exec("UPDATE meta SET load_window_start = ?, load_window_sent = ? WHERE id = 1", now, sent);
  if (meta.load_window_start === 0) return null; // first window: nothing measured yet
  const rate = ((sent - meta.load_window_sent) * 1000) / elapsed;
  return meta.split_threshold > 0 && rate > meta.split_threshold ? { rate, incarnation } : null;
}

/** Parses a partition's name, `<account>/<queue>/<index>` (see partition-map.ts). */
export function partitionIdentity(name: string | undefined): { account: string; queue: string; index: number } | null {
  if (!name) return null;
  const [account, ...rest] = name.split("/");
  const index = Number(rest.pop());
  return account && rest.length > 0 && Number.isInteger(index) ? { account, queue: rest.join("/"), index } : null;
}

export async function reportLoad(env: Env, name: string | undefined, report: LoadReport): Promise<void> {
  const identity = partitionIdentity(name);
  if (!identity) return;
  const catalog = env.CATALOG.get(env.CATALOG.idFromName(identity.account));
  try {
    await catalog.reportLoad(identity.queue, report.incarnation, identity.index, report.rate);
  } catch (error) {
    // Not retried on purpose: a partition that is still hot measures and reports again next window.
    console.error(JSON.stringify({ level: "warn", event: "load-report-failed", partition: name, error: String(error) }));
  }
}
