// Cron expressions for recurring schedules, read by croner (five fields, or
// six with seconds first; nicknames such as @hourly) in an IANA time zone the
// runtime's Intl knows. Used by the queue core to check a schedule and by the
// Partition to compute each next run, so both read an expression alike.
import { Cron } from "croner";

/** The default time zone of a schedule. */
export const DEFAULT_TIME_ZONE = "UTC";

function parse(pattern: string, timezone: string): Cron {
  return new Cron(pattern, { paused: true, mode: "5-or-6-parts", timezone });
}

/** The first run strictly after `after` (ms), or null when the expression has no later run. */
export function nextRun(pattern: string, timezone: string, after: number): number | null {
  return parse(pattern, timezone).nextRun(new Date(after))?.getTime() ?? null;
}

/** Which part of a schedule does not parse: its time zone, its cron expression, or neither (null). */
export function cronProblem(pattern: string, timezone: string): "timezone" | "cron" | null {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    return "timezone";
  }
  try {
    parse(pattern, timezone);
    return null;
  } catch {
    return "cron";
  }
}
