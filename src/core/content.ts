// Rules for a message's content, the same on every entry point: the
// characters SQS accepts in a body, attribute names, types and values, and the
// size counted against the queue's maximumMessageSize (src/shared/messages.ts
// counts it). Each returns the first Problem found, or null.
import { MAX_ATTRIBUTE_NAME_LENGTH, MAX_MESSAGE_ATTRIBUTES } from "../shared/limits.js";
import { findForbiddenCharacter, isBase64, type MessageAttributes, type MessageAttributeValue } from "../shared/messages.js";
import { problem, problems, type Problem } from "../shared/problems.js";

export function checkBody(body: string): Problem | null {
  if (body.length === 0) return problem("empty", { code: "MissingParameter", field: "body" });
  const bad = findForbiddenCharacter(body);
  return bad === null ? null : problem("character", { code: "InvalidMessageContents", field: "body", value: bad });
}

export function checkAttributes(attributes: MessageAttributes): Problem | null {
  const names = Object.keys(attributes);
  if (names.length > MAX_MESSAGE_ATTRIBUTES) return problem("tooMany", { field: "attributes", bound: MAX_MESSAGE_ATTRIBUTES, value: names.length });
  for (const name of names) {
    const found = checkAttributeName(name) ?? checkAttributeValue(name, attributes[name]!);
    if (found) return found;
  }
  return null;
}

export function checkAttributeName(name: string): Problem | null {
  const at = (rule: Parameters<typeof problem>[0], extra: Parameters<typeof problem>[1] = {}) => problem(rule, { field: "attributes.name", name, ...extra });
  if (name.length === 0) return at("empty");
  if (name.length > MAX_ATTRIBUTE_NAME_LENGTH) return at("tooLong", { bound: MAX_ATTRIBUTE_NAME_LENGTH, value: name.length });
  if (!/^[A-Za-z0-9_.-]+$/.test(name) || /^(aws\.|amazon\.)/i.test(name) || name.startsWith(".") || name.endsWith(".") || name.includes("..")) {
    return { ...problems.format("attributes.name", "attributeName", name), name };
  }
  return null;
}

function checkAttributeValue(name: string, value: MessageAttributeValue): Problem | null {
  const field = `attributes.${name}`;
  const type = value.dataType;
  if (!/^(String|Number|Binary)(\.[^\s]{1,250})?$/.test(type) || type.length > 256) return problem("attributeType", { field, name, value: type });
  if (type.startsWith("Binary")) {
    if (typeof value.binaryValue !== "string" || value.stringValue !== undefined) return problem("attributeValue", { field, name, bound: "binaryValue" });
    if (value.binaryValue.length === 0) return problem("empty", { field, name });
    if (!isBase64(value.binaryValue)) return { ...problems.format(field, "base64", value.binaryValue.slice(0, 40)), name };
    return null;
  }
  if (typeof value.stringValue !== "string" || value.binaryValue !== undefined) return problem("attributeValue", { field, name, bound: "stringValue" });
  if (value.stringValue.length === 0) return problem("empty", { field, name });
  if (type.startsWith("Number") && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(value.stringValue.trim())) {
    return problem("notNumber", { field, name, value: value.stringValue.slice(0, 40) });
  }
  const bad = findForbiddenCharacter(value.stringValue);
  return bad === null ? null : problem("character", { code: "InvalidMessageContents", field, name, value: bad });
}
