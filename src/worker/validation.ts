// Request shapes for the REST API and the front door's own routes: zod
// schemas, and one formatter that turns a zod issue into a message naming the
// field, e.g. "attributes.visibilityTimeout must be an integer, got \"x\"".
// Bounds are the queue core's (see src/core); shapes and types are checked here.
import { z } from "zod";
import { ApiError } from "./api-error.js";

/** An integer field; its bounds, if any, are the core's to check. */
export function integer() {
  return z.number({ error: (issue) => `must be an integer, got ${describe(issue.input)}` }).int({ error: (issue) => `must be an integer, got ${describe(issue.input)}` });
}

/** An integer field with inclusive bounds, for the front door's own routes (keys, tokens). */
export function boundedInt(min: number, max: number) {
  return z
    .number({ error: (issue) => `must be an integer between ${min} and ${max}, got ${describe(issue.input)}` })
    .int()
    .min(min)
    .max(max);
}

export function parse<T extends z.ZodType>(schema: T, data: unknown): z.infer<T> {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  throw new ApiError("InvalidParameterValue", formatIssue(result.error.issues[0]!));
}

export function formatIssue(issue: z.core.$ZodIssue): string {
  const field = fieldName(issue.path) || "request body";
  const input = (issue as { input?: unknown }).input;
  if (issue.message.startsWith("must ")) return `${field} ${issue.message}`;
  switch (issue.code) {
    case "invalid_type":
      return `${field} must be ${article(issue.expected)}, got ${describe(input)}`;
    case "unrecognized_keys":
      return `${field} has unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((key) => JSON.stringify(key)).join(", ")}`;
    case "too_small":
      return `${field} must have at least ${issue.minimum} ${unit(issue.origin)}, got ${sizeOf(input)}`;
    case "too_big":
      return `${field} must have at most ${issue.maximum} ${unit(issue.origin)}, got ${sizeOf(input)}`;
    default:
      return `${field} is invalid: ${issue.message}`;
  }
}

function fieldName(path: PropertyKey[]): string {
  return path.reduce<string>((name, key) => (typeof key === "number" ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)), "");
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function unit(origin: string): string {
  return origin === "array" ? "entries" : origin === "string" ? "characters" : "";
}

function sizeOf(input: unknown): string {
  if (Array.isArray(input)) return String(input.length);
  if (typeof input === "string") return String(input.length);
  return describe(input);
}

export function describe(input: unknown): string {
  if (input === undefined) return "nothing";
  if (input === null) return "null";
  if (Array.isArray(input)) return "an array";
  if (typeof input === "object") return "an object";
  if (typeof input === "string") return input.length > 40 ? `a string of ${input.length} characters` : JSON.stringify(input);
  return String(input);
}
