// Per-queue alert thresholds (depth, oldest message age, depth of its
// dead-letter queue), evaluated against what the partitions last reported
// (gauges.ts): by the Catalog's alarm every minute, and for the queues a
// report concerns as it arrives. An alert fires while its value is
// strictly above its threshold; each change of state is logged as an `alert`
// event and, when the queue names a webhook, posted to it as JSON. The
// `alerts` table has this one writer.
import { ALERT_WEBHOOK_TIMEOUT_MS } from "../../shared/limits.js";
import type { AlertName, AlertSettings, AlertState } from "../../shared/types.js";
import { runSql } from "../migrate.js";
import type { QueueGauges } from "./gauges.js";

export type { AlertName, AlertSettings, AlertState };

interface AlertRow extends Record<string, SqlStorageValue> {
  queue: string;
  incarnation: number;
  depth: number | null;
  oldest_age_seconds: number | null;
  dead_letter_depth: number | null;
  webhook_url: string | null;
  firing: string;
  changed_at: number;
}

/** A change of an alert's state, as logged and posted. */
export interface AlertEvent {
  queue: string;
  alert: AlertName;
  firing: boolean;
  value: number;
  threshold: number;
  at: number;
}

export function setAlerts(sql: SqlStorage, queue: string, incarnation: number, settings: AlertSettings): void {
  const off = settings.depth === null && settings.oldestAgeSeconds === null && settings.deadLetterDepth === null;
  if (off) {
    runSql(sql, "DELETE FROM alerts WHERE queue = ?", queue);
    return;
  }
  runSql(
    sql,
    `INSERT INTO alerts (queue, incarnation, depth, oldest_age_seconds, dead_letter_depth, webhook_url) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (queue) DO UPDATE SET incarnation = excluded.incarnation, depth = excluded.depth, oldest_age_seconds = excluded.oldest_age_seconds,
       dead_letter_depth = excluded.dead_letter_depth, webhook_url = excluded.webhook_url,
       firing = CASE WHEN alerts.incarnation = excluded.incarnation THEN alerts.firing ELSE '[]' END`,
    queue, incarnation, settings.depth, settings.oldestAgeSeconds, settings.deadLetterDepth, settings.webhookUrl,
  );
}

export function getAlerts(sql: SqlStorage, queue: string, incarnation: number): AlertState {
  const row = runSql<AlertRow>(sql, "SELECT * FROM alerts WHERE queue = ? AND incarnation = ?", queue, incarnation).toArray()[0];
  return row ? toState(row) : { depth: null, oldestAgeSeconds: null, deadLetterDepth: null, webhookUrl: null, firing: [] };
}

export function hasAlerts(sql: SqlStorage): boolean {
  return runSql(sql, "SELECT 1 FROM alerts LIMIT 1").toArray().length > 0;
}

/** Every configured alert of every queue life that still exists, and whether it fires (for /metrics). */
export function alertStates(sql: SqlStorage): Record<string, Partial<Record<AlertName, boolean>>> {
  const rows = runSql<AlertRow>(sql, "SELECT a.* FROM alerts a JOIN queues q ON q.name = a.queue AND q.incarnation = a.incarnation").toArray();
  return Object.fromEntries(rows.map((row) => {
    const state = toState(row);
    const configured = (["depth", "oldestAgeSeconds", "deadLetterDepth"] as const).filter((alert) => state[alert] !== null);
    return [row.queue, Object.fromEntries(configured.map((alert) => [alert, state.firing.includes(alert)]))];
  }));
}

/**
 * Compares every queue's thresholds with its numbers; stores what fires now
 * and answers the changes with the webhook each goes to.
 */
export function evaluateAlerts(sql: SqlStorage, gauges: Map<string, QueueGauges>, incarnations: Map<string, number>, now: number, only?: (queue: string) => boolean): (AlertEvent & { webhookUrl: string | null })[] {
  const events: (AlertEvent & { webhookUrl: string | null })[] = [];
  for (const row of runSql<AlertRow>(sql, "SELECT * FROM alerts").toArray()) {
    if (only && !only(row.queue)) continue;
    const numbers = gauges.get(row.queue);
    if (!numbers || incarnations.get(row.queue) !== row.incarnation) continue;
    const values: Record<AlertName, number> = {
      depth: numbers.depth,
      oldestAgeSeconds: numbers.oldestSentAt === null ? 0 : Math.max(0, Math.floor((now - numbers.oldestSentAt) / 1000)),
      deadLetterDepth: numbers.deadLetterQueue === null ? 0 : gauges.get(numbers.deadLetterQueue)?.depth ?? 0,
    };
    const state = toState(row);
    const was = new Set(state.firing);
    const firing: AlertName[] = [];
    for (const alert of ["depth", "oldestAgeSeconds", "deadLetterDepth"] as const) {
      const threshold = state[alert];
      const fires = threshold !== null && values[alert] > threshold;
      if (fires) firing.push(alert);
      if (fires !== was.has(alert) && threshold !== null) events.push({ queue: row.queue, alert, firing: fires, value: values[alert], threshold, at: now, webhookUrl: row.webhook_url });
      if (!fires && was.has(alert) && threshold === null) events.push({ queue: row.queue, alert, firing: false, value: values[alert], threshold: 0, at: now, webhookUrl: row.webhook_url });
    }
    if (JSON.stringify(firing) !== row.firing) runSql(sql, "UPDATE alerts SET firing = ?, changed_at = ? WHERE queue = ?", JSON.stringify(firing), now, row.queue);
  }
  return events;
}

/** Logs each change and posts it to its webhook; a webhook that fails is logged, never retried (the next change posts again). */
export async function announce(events: (AlertEvent & { webhookUrl: string | null })[]): Promise<void> {
  await Promise.all(events.map(async ({ webhookUrl, ...event }) => {
    console.log(JSON.stringify({ level: event.firing ? "warn" : "info", event: "alert", ...event }));
    if (!webhookUrl) return;
    try {
      const response = await fetch(webhookUrl, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "edgeq-alerts" },
        body: JSON.stringify({ type: event.firing ? "alert.firing" : "alert.resolved", ...event }),
        signal: AbortSignal.timeout(ALERT_WEBHOOK_TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (!response.ok) throw new Error(`status ${response.status}`);
    } catch (error) {
      console.error(JSON.stringify({ level: "warn", event: "alert-webhook-failed", queue: event.queue, alert: event.alert, error: String(error) }));
    }
  }));
}

function toState(row: AlertRow): AlertState {
  return {
    depth: row.depth, oldestAgeSeconds: row.oldest_age_seconds, deadLetterDepth: row.dead_letter_depth, webhookUrl: row.webhook_url,
    firing: JSON.parse(row.firing) as AlertName[],
  };
}
