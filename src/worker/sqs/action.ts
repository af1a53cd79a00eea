// What every SQS action receives and returns: its JSON-shaped input, the
// caller's QueueService, and a JSON-shaped result (null for actions whose
// response carries no result element). Protocol details stay in handler.ts;
// Problems become AWS's words through render.ts.
import type { Principal, QueueService } from "../../core/index.js";
import { ERROR_CODES, type ErrorCode } from "../../shared/errors.js";
import type { EntryProblem } from "../../shared/problems.js";
import { ApiError } from "../api-error.js";
import { requiredString, type Input } from "./params.js";
import { renderSqs } from "./render.js";
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

/** The queue named by the request's QueueUrl: the only way a request picks its queue. */
export function queueOf(context: ActionContext): string {
  return queueNameFromUrl(context.naming, requiredString(context.input, "QueueUrl"));
}

export interface FailedEntry {
  Id: string;
  SenderFault: boolean;
  Code: string;
  Message: string;
}

/** One `Failed` entry of a batch response. */
export function failedEntry(id: string, code: ErrorCode, message: string): FailedEntry {
  return { Id: id, SenderFault: ERROR_CODES[code].sqsStatus < 500, Code: ERROR_CODES[code].sqs, Message: message };
}

/** The core's per-entry problems as Failed entries; `ids[i]` is the Id of the i-th entry the core was given. */
export function failedEntries(context: ActionContext, failed: EntryProblem[], ids: string[], entryName: string): FailedEntry[] {
  return failed.map(({ index, problem }) => {
    const { code, message } = renderSqs(problem, { naming: context.naming, entryName });
    return failedEntry(ids[index]!, code, message);
  });
}

/** The Entries of a batch action with their Ids, checked as SQS checks Ids before any entry runs. */
export function batchEntries(input: Input, entryName: string): { id: string; entry: Input }[] {
  const value = input.Entries;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "object" && item !== null && !Array.isArray(item))) {
    throw new ApiError("InvalidParameterValue", `Entries must be a list of ${entryName} structures.`);
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
