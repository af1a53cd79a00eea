// How the queue core refuses a whole request: it throws a Refusal carrying a
// Problem (data, no prose); each protocol's error handler renders it. Per-entry
// failures of a batch are returned as EntryProblems instead, so one bad entry
// never stops the others.
import type { Problem } from "../shared/problems.js";
import type { Failure } from "../shared/types.js";

export class Refusal extends Error {
  override name = "Refusal";
  constructor(readonly problem: Problem) {
    super(`${problem.code}: ${problem.rule}${problem.field ? ` (${problem.field})` : ""}`);
  }
}

/** Returns a Durable Object's success, or throws its Problem as a Refusal. */
export function unwrap<T extends { ok: boolean }>(result: T | Failure): Extract<T, { ok: true }> {
  if (!result.ok) throw new Refusal(problemOf(result as Failure));
  return result as Extract<T, { ok: true }>;
}

/** The Problem of a Durable Object's or the config's failure. */
export function problemOf(failure: Failure): Problem {
  const { ok: _, ...found } = failure;
  return found;
}

/** Throws when `found` is a Problem. */
export function refuse(found: Problem | null | undefined): void {
  if (found) throw new Refusal(found);
}
