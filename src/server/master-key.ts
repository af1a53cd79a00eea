// The start-up check on a data directory's master key. A data directory keeps
// the master key it was made under: its data keys and access-key secrets are
// wrapped under it. Started with another one (typically: made under the
// development credentials, then started with real ones), every queue's
// messages stay sealed and every lease runs out unread. So before the server
// reports itself listening, it asks its own Worker which stored keys unwrap
// under the configured master key (GET /v1/admin/master-key) and refuses when
// none does, naming the command that re-wraps them. Also the words for a
// rotation's result, which the CLI prints (without loading the server).
/// <reference types="node" />
import { ServeConfigError } from "./config-file.js";
import type { ServerCredentials } from "./credentials.js";

export const ROTATE_COMMAND = "edgeq admin rotate-master-key";

export interface Counts {
  total: number;
  current: number;
  previous: number;
  unreadable: number;
}

export interface RotationReport {
  rewrapped: { dataKeys: number; accessKeys: number; descriptions?: number; queueExtras?: number };
  dataKeys: Counts;
  accessKeys: Counts;
  /** Sealed access-key descriptions and queue extras (tags, permission labels, stored attributes); absent from a server older than them. */
  descriptions?: Counts;
  queueExtras?: Counts;
  /** Where the old key came from, in words. */
  from: string;
  /** Where the new key came from, in words. */
  to: string;
  /** One line for the terminal. */
  summary: string;
  /** True when something unwraps under neither key: the run did not finish the job. */
  incomplete: boolean;
}

interface Status {
  dataKeys: Counts;
  accessKeys: Counts;
}

/** Throws ServeConfigError when the configured master key unwraps nothing stored; returns warnings for a partial state. */
export async function checkMasterKey(url: string, dataDir: string, credentials: ServerCredentials): Promise<string[]> {
  let status: Status;
  try {
    const response = await fetch(`${loopbackOf(url)}/v1/admin/master-key`, {
      headers: { authorization: `Bearer ${credentials.adminSecret}` },
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) return [`could not check which master key ${dataDir} was made under: GET /v1/admin/master-key answered ${response.status} ${await response.text()}`];
    status = (await response.json()) as Status;
  } catch (error) {
    return [`could not check which master key ${dataDir} was made under: ${(error as Error).message}`];
  }
  const total = status.dataKeys.total + status.accessKeys.total;
  const current = status.dataKeys.current + status.accessKeys.current;
  const previous = status.dataKeys.previous + status.accessKeys.previous;
  const stored = describe(status.dataKeys.total, status.accessKeys.total);
  if (total > 0 && current === 0 && previous === 0) {
    const remedy = credentials.devMode
      ? `they were wrapped under a real master key; start with the credentials ${dataDir} was made under`
      : `they were wrapped under another master key (a data directory made with the development credentials uses the public development one); ` +
        `re-wrap them under it with \`${ROTATE_COMMAND} --data-dir ${dataDir}\` while the server is stopped ` +
        `(the old key in EDGEQ_PREVIOUS_MASTER_KEY; without it, the development master key), or start with the master key ${dataDir} was made under`;
    throw new ServeConfigError(`${credentials.masterKeyFrom} unwraps none of the ${stored} stored in ${dataDir}: ${remedy}. See docs/self-hosting.md#rotating-the-master-key`);
  }
  const warnings: string[] = [];
  if (previous > 0) warnings.push(`${describe(status.dataKeys.previous, status.accessKeys.previous)} in ${dataDir} are still wrapped under EDGEQ_PREVIOUS_MASTER_KEY: run \`${ROTATE_COMMAND}\` against this server`);
  const unreadable = status.dataKeys.unreadable + status.accessKeys.unreadable;
  if (unreadable > 0) warnings.push(`${describe(status.dataKeys.unreadable, status.accessKeys.unreadable)} in ${dataDir} unwrap under no configured master key; their queues' messages stay unreadable until \`${ROTATE_COMMAND}\` re-wraps them`);
  return warnings;
}

/** "3 data keys and 1 access key" */
export function describe(dataKeys: number, accessKeys: number): string {
  const parts = [dataKeys > 0 || accessKeys === 0 ? `${dataKeys} data key${dataKeys === 1 ? "" : "s"}` : null, accessKeys > 0 ? `${accessKeys} access key${accessKeys === 1 ? "" : "s"}` : null];
  return parts.filter(Boolean).join(" and ");
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The server's own URL as this process reaches it: a wildcard listen address through loopback. */
function loopbackOf(url: string): string {
  const parsed = new URL(url);
  if (parsed.hostname === "0.0.0.0") parsed.hostname = "127.0.0.1";
  if (parsed.hostname === "[::]") parsed.hostname = "[::1]";
  return parsed.origin;
}

/** The Worker's answer in words; shared by the offline and the online command. */
export function rotationReport(body: Pick<RotationReport, "rewrapped" | "dataKeys" | "accessKeys" | "descriptions" | "queueExtras">, from: string, to: string, where: string): RotationReport {
  const { rewrapped, dataKeys, accessKeys } = body;
  const metadata = (body.descriptions?.unreadable ?? 0) + (body.queueExtras?.unreadable ?? 0);
  const unreadable = dataKeys.unreadable + accessKeys.unreadable + metadata;
  const total = dataKeys.total + accessKeys.total;
  let summary = `re-wrapped ${describe(rewrapped.dataKeys, rewrapped.accessKeys)} in ${where} from ${from} to ${to}; ` +
    `${dataKeys.current + accessKeys.current} of the ${total} stored key${total === 1 ? "" : "s"} now unwrap under ${to}`;
  const resealed = (rewrapped.queueExtras ?? 0) + (rewrapped.descriptions ?? 0);
  if (resealed > 0) summary += `; re-sealed ${plural(rewrapped.queueExtras ?? 0, "queue tag, label or attribute", "queue tags, labels or attributes")} and ${plural(rewrapped.descriptions ?? 0, "key description")}`;
  if (dataKeys.unreadable + accessKeys.unreadable > 0) {
    summary += `; ${describe(dataKeys.unreadable, accessKeys.unreadable)} unwrap under neither key: set EDGEQ_PREVIOUS_MASTER_KEY to the master key they were made under and run it again`;
  }
  if (metadata > 0) summary += `; ${plural(metadata, "queue extra or key description")} open under neither key`;
  return { ...body, from, to, summary, incomplete: unreadable > 0 };
}
