// How a Partition notices it is hot: it counts sends over fixed windows (two
// numbers in meta, written once per window) and, when a window ran above the
// queue's split threshold, reports the rate to the Catalog from its alarm, so
// no send ever waits on the Catalog and a hot partition reports at most once
// a window.
import { LOAD_WINDOW_MS } from "../../shared/limits.js";
import { partitionIdentity } from "../../shared/naming.js";

export interface LoadReport {
  rate: number;
  incarnation: number;
}

export interface LoadWindow {
  /** When the window opened (0: none yet) and the `sent` counter then. */
  start: number;
  sentAtStart: number;
}

/**
 * Closes the window once it has run LOAD_WINDOW_MS: returns the next window,
 * and the measured rate (messages/s) when the closed window was a real one.
 * null while the window is still open.
 */
export function closeWindow(window: LoadWindow, sent: number, now: number): { next: LoadWindow; rate: number | null } | null {
  const elapsed = now - window.start;
  if (elapsed < LOAD_WINDOW_MS) return null;
  const next = { start: now, sentAtStart: sent };
  if (window.start === 0) return { next, rate: null }; // first window: nothing measured yet
  return { next, rate: ((sent - window.sentAtStart) * 1000) / elapsed };
}

/** A window's rate is hot when it is strictly above a threshold that is on (> 0). */
export function isHot(rate: number | null, threshold: number): rate is number {
  return rate !== null && threshold > 0 && rate > threshold;
}

export async function reportLoad(env: Env, name: string | undefined, report: LoadReport): Promise<void> {
  const identity = partitionIdentity(name);
  if (!identity) return;
  const catalog = env.CATALOG.get(env.CATALOG.idFromName(identity.account));
  await catalog.reportLoad(identity.queue, report.incarnation, identity.index, report.rate);
}
