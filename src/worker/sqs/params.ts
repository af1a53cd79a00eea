// Reading one action's input with the error messages SQS uses, e.g.
// "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be
// between 1 and 10, if provided." Query-protocol values arrive as strings,
// JSON ones as numbers, so numeric readers accept both.
import { ApiError } from "../api-error.js";
import { describe } from "../validation.js";

export type Input = Record<string, unknown>;

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

export function optionalInt(input: Input, name: string, min: number, max: number): number | undefined {
  const value = input[name];
  if (value === undefined || value === null || value === "") return undefined;
  const number = typeof value === "number" ? value : typeof value === "string" && /^[+-]?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < min || number > max) {
    throw invalid(name, value, `Must be between ${min} and ${max}, if provided.`);
  }
  return number;
}

export function requiredInt(input: Input, name: string, min: number, max: number): number {
  const value = optionalInt(input, name, min, max);
  if (value === undefined) throw missing(name);
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
  for (const [key, item] of Object.entries(value as object)) {
    if (typeof item !== "string") throw invalid(`${name}.${key}`, item, "Must be a string.");
  }
  return value as Record<string, string>;
}

export function objectList(input: Input, name: string): Input[] {
  const value = input[name];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "object" && item !== null && !Array.isArray(item))) {
    throw invalid(name, value, "Must be a list of structures.");
  }
  return value as Input[];
}
