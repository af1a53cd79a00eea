// What every SQS action receives and returns: its JSON-shaped input and the
// QueueService, and a JSON-shaped result (null for actions whose response
// carries no result element). Protocol details stay in handler.ts.
import { ERROR_CODES, type ErrorCode } from "../../shared/errors.js";
import { ApiError } from "../api-error.js";
import type { Principal } from "../context.js";
import { authorize, canSee, type Action as Permission } from "../guards/permissions.js";
import type { QueueService } from "../service.js";
import { requiredString, type Input } from "./params.js";
import { queueNameFromUrl, type QueueNaming } from "./urls.js";

export interface ActionContext {
  service: QueueService;
  naming: QueueNaming;
  /** The SigV4-authenticated caller; its key id is reported as the SenderId system attribute. */
  principal: Principal;
  input: Input;
}

export type ActionResult = Record<string, unknown> | null;
export type Action = (context: ActionContext) => Promise<ActionResult>;

/**
 * The queue named by the request's QueueUrl (the only way a request picks its
 * queue), once the caller is allowed to do `permission` on it; "see" is any
 * grant on the queue, enough to read its URL, attributes and tags.
 */
export function queueOf(context: ActionContext, permission: Permission | "admin" | "see"): string {
  const name = queueNameFromUrl(context.naming, requiredString(context.input, "QueueUrl"));
  authorizeQueue(context.principal, name, permission);
  return name;
}

export function authorizeQueue(principal: Principal, name: string, permission: Permission | "admin" | "see"): void {
  if (permission !== "see") return authorize(principal, name, permission);
  if (!canSee(principal, name)) throw new ApiError("Forbidden", `access key ${principal.keyId} has no permission on queue ${name}`);
}

/** One `Failed` entry of a batch response. */
export function failedEntry(id: string, code: ErrorCode, message: string) {
  return { Id: id, SenderFault: ERROR_CODES[code].sqsStatus < 500, Code: ERROR_CODES[code].sqs, Message: message };
}

/** The Entries of a batch action, checked as SQS checks them before any entry runs. */
export function batchEntries(input: Input, entryName: string, max: number): { id: string; entry: Input }[] {
  const value = input.Entries;
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    throw new ApiError("EmptyBatchRequest", `There should be at least one ${entryName} in the request.`);
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === "object" && item !== null && !Array.isArray(item))) {
    throw new ApiError("InvalidParameterValue", `Entries must be a list of ${entryName} structures.`);
  }
  if (value.length > max) {
    throw new ApiError("TooManyEntriesInBatchRequest", `Maximum number of entries per request are ${max}. You have sent ${value.length}.`);
  }
  const seen = new Set<string>();
  return (value as Input[]).map((entry) => {
    const id = entry.Id;
    if (typeof id !== "string" || !/^[A-Za-z0-9_-]{1,80}$/.test(id)) {
      throw new ApiError("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.");
    }
    if (seen.has(id)) throw new ApiError("BatchEntryIdsNotDistinct", `Id ${id} repeated.`);
    seen.add(id);
    return { id, entry };
  });
}
