// Rules for a message's content that every entry point shares: the characters
// SQS accepts in a body, attribute names and types, and how a message's size
// is counted (UTF-8 bytes of the body plus every attribute's name, type and value).
import type { ErrorCode } from "./errors.js";
import { MAX_ATTRIBUTE_NAME_LENGTH, MAX_MESSAGE_ATTRIBUTES } from "./limits.js";

export interface MessageAttributeValue {
  dataType: string;
  stringValue?: string;
  /** Base64 of the bytes, for Binary types. */
  binaryValue?: string;
}

export type MessageAttributes = Record<string, MessageAttributeValue>;

export interface Problem {
  code: ErrorCode;
  message: string;
}

const encoder = new TextEncoder();

/** #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF, as SQS allows. */
const FORBIDDEN_CHARACTER = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export function utf8Length(text: string): number {
  return encoder.encode(text).length;
}

export function findForbiddenCharacter(text: string): number | null {
  const match = FORBIDDEN_CHARACTER.exec(text);
  return match ? match[0].codePointAt(0)! : null;
}

export function checkBody(field: string, body: string): Problem | null {
  if (body.length === 0) return { code: "InvalidParameterValue", message: `${field} must not be empty` };
  const bad = findForbiddenCharacter(body);
  if (bad !== null) {
    return { code: "InvalidParameterValue", message: `${field} contains the character U+${bad.toString(16).toUpperCase().padStart(4, "0")}, which is not allowed (allowed: #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, #x10000-#x10FFFF)` };
  }
  return null;
}

export function checkAttributes(field: string, attributes: MessageAttributes): Problem | null {
  const names = Object.keys(attributes);
  if (names.length > MAX_MESSAGE_ATTRIBUTES) {
    return { code: "InvalidParameterValue", message: `${field} may hold at most ${MAX_MESSAGE_ATTRIBUTES} attributes, got ${names.length}` };
  }
  for (const name of names) {
    const problem = checkAttributeName(`${field} name`, name) ?? checkAttributeValue(`${field}.${name}`, attributes[name]!);
    if (problem) return problem;
  }
  return null;
}

export function checkAttributeName(field: string, name: string): Problem | null {
  const invalid = (reason: string): Problem => ({ code: "InvalidParameterValue", message: `${field} "${name}" is invalid: ${reason}` });
  if (name.length === 0 || name.length > MAX_ATTRIBUTE_NAME_LENGTH) return invalid(`must be 1 to ${MAX_ATTRIBUTE_NAME_LENGTH} characters`);
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) return invalid("may contain only A-Z, a-z, 0-9, underscore, hyphen and period");
  if (/^(aws\.|amazon\.)/i.test(name)) return invalid('must not start with "AWS." or "Amazon."');
  if (name.startsWith(".") || name.endsWith(".") || name.includes("..")) return invalid("must not start or end with a period or contain two periods in a row");
  return null;
}

function checkAttributeValue(field: string, value: MessageAttributeValue): Problem | null {
  const invalid = (reason: string): Problem => ({ code: "InvalidParameterValue", message: `${field} ${reason}` });
  const type = value.dataType;
  if (!/^(String|Number|Binary)(\.[^\s]{1,250})?$/.test(type) || type.length > 256) {
    return invalid(`has data type "${type}"; it must be String, Number or Binary, optionally followed by .label (at most 256 characters)`);
  }
  if (type.startsWith("Binary")) {
    if (typeof value.binaryValue !== "string" || value.stringValue !== undefined) return invalid("must carry a binaryValue (base64) and no stringValue for a Binary type");
    if (!isBase64(value.binaryValue)) return invalid("binaryValue must be base64");
    if (value.binaryValue.length === 0) return invalid("binaryValue must not be empty");
    return null;
  }
  if (typeof value.stringValue !== "string" || value.binaryValue !== undefined) return invalid(`must carry a stringValue and no binaryValue for a ${type.split(".")[0]} type`);
  if (value.stringValue.length === 0) return invalid("stringValue must not be empty");
  if (type.startsWith("Number") && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.stringValue.trim())) {
    return invalid(`stringValue "${value.stringValue.slice(0, 40)}" is not a number`);
  }
  const bad = findForbiddenCharacter(value.stringValue);
  if (bad !== null) return invalid(`stringValue contains the character U+${bad.toString(16).toUpperCase().padStart(4, "0")}, which is not allowed`);
  return null;
}

/** Size as SQS counts it against MaximumMessageSize. */
export function messageSize(body: string, attributes: MessageAttributes | undefined): number {
  let size = utf8Length(body);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    size += utf8Length(name) + utf8Length(value.dataType);
    size += value.binaryValue !== undefined ? base64Length(value.binaryValue) : utf8Length(value.stringValue ?? "");
  }
  return size;
}

function isBase64(text: string): boolean {
  return /^[A-Za-z0-9+/]*={0,2}$/.test(text) && text.length % 4 === 0;
}

function base64Length(text: string): number {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}
