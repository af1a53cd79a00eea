// Turns either SQS wire protocol into one shape: the action name and its input
// as the AWS JSON 1.0 protocol spells it. The query protocol's flattened form
// keys (`Attribute.1.Name`, `SendMessageBatchRequestEntry.2.MessageBody`) are
// folded into the same nested maps and lists, so each action is written once.
import { ApiError } from "../api-error.js";

export type Protocol = "json" | "query";

export interface SqsRequest {
  protocol: Protocol;
  action: string;
  input: Record<string, unknown>;
}

export const JSON_CONTENT_TYPE = "application/x-amz-json-1.0";
const TARGET_PREFIX = "AmazonSQS.";
/** Parts of a query parameter name (`Attribute.1.Name` has 3). */
export const MAX_QUERY_NAME_PARTS = 10;

/** Decided from headers alone, so even an unparseable request gets an error in its own protocol. */
export function detectProtocol(headers: Headers): Protocol {
  const type = headers.get("content-type") ?? "";
  return headers.has("x-amz-target") || type.startsWith("application/x-amz-json") ? "json" : "query";
}

export function parseSqsRequest(protocol: Protocol, headers: Headers, url: URL, body: string): SqsRequest {
  return protocol === "json" ? parseJson(headers, body) : parseQuery(url, body);
}

function parseJson(headers: Headers, body: string): SqsRequest {
  const target = headers.get("x-amz-target") ?? "";
  if (!target.startsWith(TARGET_PREFIX)) {
    throw new ApiError("InvalidAction", `the X-Amz-Target header must be ${TARGET_PREFIX}<Action>, got ${JSON.stringify(target)}`);
  }
  let input: unknown = {};
  if (body.trim() !== "") {
    try {
      input = JSON.parse(body);
    } catch {
      throw new ApiError("MalformedRequest", "the request body is not valid JSON");
    }
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ApiError("MalformedRequest", "the request body must be a JSON object");
  }
  return { protocol: "json", action: target.slice(TARGET_PREFIX.length), input: input as Record<string, unknown> };
}

function parseQuery(url: URL, body: string): SqsRequest {
  const params = new URLSearchParams(url.search);
  for (const [name, value] of new URLSearchParams(body)) params.append(name, value);
  const action = params.get("Action");
  if (!action) throw new ApiError("MissingParameter", "The request must contain the parameter Action.");
  const tree: Record<string, unknown> = {};
  for (const [name, value] of params) {
    if (name === "Action" || name === "Version") continue;
    const path = name.split(".");
    // The deepest real name (SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringListValue.1) has 7 parts;
    // thousands would make the folding below recurse that deep.
    if (path.length > MAX_QUERY_NAME_PARTS) {
      throw new ApiError("InvalidParameterValue", `The parameter name ${name.slice(0, 60)}... has ${path.length} dot-separated parts; at most ${MAX_QUERY_NAME_PARTS} dot-separated parts are allowed.`);
    }
    place(tree, path, value);
  }
  return { protocol: "query", action, input: reshape(tree) as Record<string, unknown> };
}

function place(tree: Record<string, unknown>, path: string[], value: string): void {
  let node = tree;
  for (const [i, key] of path.entries()) {
    if (key === "__proto__" || key === "constructor" || key === "prototype") return;
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
}

/** Query names of flattened members and how each becomes its JSON form. */
const FLATTENED: Record<string, { json: string; kind: "list" | "map"; key?: string; value?: string }> = {
  Attribute: { json: "Attributes", kind: "map", key: "Name", value: "Value" },
  AttributeName: { json: "AttributeNames", kind: "list" },
  MessageAttributeName: { json: "MessageAttributeNames", kind: "list" },
  MessageSystemAttributeName: { json: "MessageSystemAttributeNames", kind: "list" },
  MessageAttribute: { json: "MessageAttributes", kind: "map", key: "Name", value: "Value" },
  MessageSystemAttribute: { json: "MessageSystemAttributes", kind: "map", key: "Name", value: "Value" },
  SendMessageBatchRequestEntry: { json: "Entries", kind: "list" },
  DeleteMessageBatchRequestEntry: { json: "Entries", kind: "list" },
  ChangeMessageVisibilityBatchRequestEntry: { json: "Entries", kind: "list" },
  Tag: { json: "Tags", kind: "map", key: "Key", value: "Value" },
  TagKey: { json: "TagKeys", kind: "list" },
  AWSAccountId: { json: "AWSAccountIds", kind: "list" },
  ActionName: { json: "Actions", kind: "list" },
  StringListValue: { json: "StringListValues", kind: "list" },
  BinaryListValue: { json: "BinaryListValues", kind: "list" },
};

function reshape(node: unknown): unknown {
  if (typeof node !== "object" || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [name, child] of Object.entries(node as Record<string, unknown>)) {
    const rule = FLATTENED[name];
    if (!rule || typeof child !== "object" || child === null) {
      out[name] = reshape(child);
      continue;
    }
    const members = numbered(child as Record<string, unknown>).map(reshape);
    if (rule.kind === "list") {
      out[rule.json] = members;
    } else {
      // No prototype: a member named __proto__ stays a key, for the action's reader to refuse by name.
      const map: Record<string, unknown> = Object.create(null);
      for (const member of members) {
        const entry = (member ?? {}) as Record<string, unknown>;
        const key = entry[rule.key!];
        if (typeof key === "string") map[key] = entry[rule.value!];
      }
      out[rule.json] = map;
    }
  }
  return out;
}

/** `{ "2": b, "1": a }` -> `[a, b]`, in index order, ignoring non-numeric keys. */
function numbered(object: Record<string, unknown>): unknown[] {
  return Object.keys(object)
    .filter((key) => /^\d+$/.test(key))
    .sort((a, b) => Number(a) - Number(b))
    .map((key) => object[key]);
}
