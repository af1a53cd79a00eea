// Reading one action's input with the error messages SQS uses when the input
// does not even have the right type ("Value x for parameter MaxNumberOfMessages
// is invalid. Reason: Must be an integer."). Query-protocol values arrive as
// strings, JSON ones as numbers, so numeric readers accept both. Bounds and
// rules are the queue core's; these readers only take the input apart.
import { ApiError } from "../api-error.js";
import { describe } from "../validation.js";

export type Input = Record<string, unknown>;

/**
 * Map keys that name what every object inherits (`constructor`, `__proto__`,
 * `toString`, ...): refused in attribute and tag maps, so no such key can
 * reach code that indexes a plain object with it.
 */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), "prototype"]);

export function invalid(name: string, value: unknown, reason: string): ApiError {
  const shown = typeof value === "string" || typeof value === "number" ? String(value) : describe(value);
  return new ApiError("InvalidParameterValue", `Value ${shown} for parameter ${name} is invalid. Reason: ${reason}`);
}

export function missing(name: string): ApiError {
  return new ApiError("MissingParameter", `The request must contain the parameter ${name}.`);
}

export function requiredString(input: Input, name: string): string {
  const value = optionalString(input, name);
  if (value === undefined) throw missing(name);
  return value;
}

export function optionalString(input: Input, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalid(name, value, "Must be a string.");
  return value;
}

/** A number as either protocol sends it; the core checks that it is an integer within its bounds. */
export function optionalNumber(input: Input, name: string): number | undefined {
  const value = input[name];
  if (value === undefined || value === null || value === "") return undefined;
  const number = typeof value === "number" ? value : typeof value === "string" && /^\s*[+-]?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(number)) throw invalid(name, value, "Must be an integer.");
  return number;
}

export function requiredNumber(input: Input, name: string): number {
  const value = optionalNumber(input, name);
  if (value === undefined) throw missing(name);
  return value;
}

/** A paging parameter of a list action (MaxResults): its bounds are SQS's own, not a queue rule. */
export function optionalInt(input: Input, name: string, min: number, max: number): number | undefined {
  const value = optionalNumber(input, name);
  if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
    throw invalid(name, input[name], `Must be between ${min} and ${max}, if provided.`);
  }
  return value;
}

export function stringList(input: Input, name: string): string[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) throw invalid(name, value, "Must be a list of strings.");
  return value as string[];
}

export function stringMap(input: Input, name: string): Record<string, string> {
  const value = input[name];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw invalid(name, value, "Must be a map of strings.");
  const out: Record<string, string> = {};
  for (const [key, item] of Object.entries(value as object)) {
    if (PROTOTYPE_KEYS.has(key)) throw invalid(name, key, `The key ${key} is reserved (it names a property of every JavaScript object) and cannot be used.`);
    if (typeof item !== "string") throw invalid(`${name}.${key}`, item, "Must be a string.");
    out[key] = item;
  }
  return out;
}

export function objectList(input: Input, name: string): Input[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "object" && item !== null && !Array.isArray(item))) {
    throw invalid(name, value, "Must be a list of structures.");
  }
  return value as Input[];
}
