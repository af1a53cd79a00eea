// The Amazon SQS front door on `POST /`: read the body once, verify SigV4
// against it, parse either protocol into one action call, and answer in the
// caller's protocol, errors included (JSON `__type` plus the
// `x-amzn-query-error` header the SDKs read, or the query protocol's
// `<ErrorResponse>`). It catches everything itself: the REST onError never
// sees an SQS request.
import type { Context } from "hono";
import { problemOf, QueueService, Refusal, storageRefusal } from "../../core/index.js";
import { ERROR_CODES, type ErrorCode } from "../../shared/errors.js";
import { QUEUE_NAME_PATTERN } from "../../shared/limits.js";
import { ApiError } from "../api-error.js";
import { principalForKeyId, secretForAccessKey } from "../auth/keys.js";
import { loadConfig } from "../config.js";
import { background, type AppEnv } from "../context.js";
import { limitRequest, lookupLimiter } from "../edge/ratelimit.js";
import { noteUsage } from "../edge/usage.js";
import type { Action, ActionResult } from "./action.js";
import { MESSAGE_ACTIONS } from "./message-actions.js";
import { MOVE_ACTIONS } from "./move-actions.js";
import { detectProtocol, JSON_CONTENT_TYPE, parseSqsRequest, type Protocol } from "./protocol.js";
import { QUEUE_ACTIONS } from "./queue-actions.js";
import { renderSqs } from "./render.js";
import { SEND_ACTIONS } from "./send-actions.js";
import { verifySigV4 } from "./sigv4.js";
import type { QueueNaming } from "./urls.js";
import { xmlError, xmlSuccess } from "./xml.js";

/** A 1 MiB batch can grow several times when JSON escapes it or a form percent-encodes it. */
export const MAX_SQS_REQUEST_BYTES = 8 * 1024 * 1024;

const ACTIONS: Record<string, Action> = { ...QUEUE_ACTIONS, ...SEND_ACTIONS, ...MESSAGE_ACTIONS, ...MOVE_ACTIONS };

/** The element a batch action's entries are named by, for "There should be at least one ... in the request." */
const ENTRY_NAMES: Record<string, string> = {
  SendMessageBatch: "SendMessageBatchRequestEntry",
  DeleteMessageBatch: "DeleteMessageBatchRequestEntry",
  ChangeMessageVisibilityBatch: "ChangeMessageVisibilityBatchRequestEntry",
};

/** A queue URL's path, `/<12-digit account>/<queue>`, which SQS query-protocol clients post to. */
const SQS_QUEUE_PATH = /^\/\d{12}\/[^/]+\/?$/;

export function isSqsPath(path: string): boolean {
  return SQS_QUEUE_PATH.test(path);
}

export async function handleSqs(c: Context<AppEnv>): Promise<Response> {
  const requestId = c.var.requestId ?? crypto.randomUUID();
  const protocol = detectProtocol(c.req.raw.headers);
  let action = "Unknown";
  let naming: QueueNaming | undefined;
  try {
    const url = new URL(c.req.url);
    const declared = Number(c.req.header("content-length") ?? 0);
    if (declared > MAX_SQS_REQUEST_BYTES) throw tooLarge();
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.length > MAX_SQS_REQUEST_BYTES) throw tooLarge();

    const loaded = loadConfig(c.env, url);
    if (!loaded.ok) throw new Refusal(problemOf(loaded));
    const { config } = loaded;
    // Unknown key ids count against the client's lookup limit, as unknown bearer secrets do.
    const limiter = lookupLimiter(c.env, c.req.raw.headers);
    const caller = await verifySigV4({ method: c.req.method, url, headers: c.req.raw.headers, body }, (keyId) =>
      secretForAccessKey(c.env, config, keyId, limiter));
    const principal = await principalForKeyId(c.env, config, caller.accessKeyId);
    if (!principal) throw new ApiError("InvalidClientTokenId", "The security token included in the request is invalid.");
    c.set("config", config);
    c.set("principal", principal);
    await limitRequest(c.env, principal);

    const request = parseSqsRequest(protocol, c.req.raw.headers, url, new TextDecoder().decode(body));
    action = request.action;
    noteUsage(c.req.raw, { action, queue: usageQueue(request.input) });
    const run = Object.hasOwn(ACTIONS, action) ? ACTIONS[action] : undefined;
    if (!run) throw new ApiError("InvalidAction", `The action ${action} is not valid for this endpoint.`);
    naming = { origin: url.origin, accountId: config.accountId, region: caller.region };
    const result = await run({ service: new QueueService(c.env, config, principal, background(c)), naming, principal, input: request.input });
    return success(protocol, action, result, requestId);
  } catch (caught) {
    const error = storageRefusal(caught) ?? caught;
    if (error instanceof Refusal) {
      const rendered = renderSqs(error.problem, { naming: naming ?? { origin: "", accountId: "", region: "" }, entryName: ENTRY_NAMES[action] });
      return failure(protocol, rendered.code, rendered.message, requestId, error.problem.retryAfterSeconds);
    }
    if (error instanceof ApiError) return failure(protocol, error.code, error.message, requestId, error.retryAfterSeconds);
    console.error(JSON.stringify({ level: "error", requestId, action, error: String(error), stack: (error as Error)?.stack }));
    return failure(protocol, "InternalError", "We encountered an internal error. Please try again.", requestId);
  }
}

function success(protocol: Protocol, action: string, result: ActionResult, requestId: string): Response {
  const headers = { "x-amzn-RequestId": requestId, date: new Date().toUTCString() };
  if (protocol === "json") {
    return new Response(JSON.stringify(result ?? {}), { status: 200, headers: { ...headers, "content-type": JSON_CONTENT_TYPE } });
  }
  return new Response(xmlSuccess(action, result, requestId), { status: 200, headers: { ...headers, "content-type": "text/xml" } });
}

export function failure(protocol: Protocol, code: ErrorCode, message: string, requestId: string, retryAfterSeconds?: number): Response {
  const entry = ERROR_CODES[code];
  const fault = entry.sqsStatus >= 500 ? "Receiver" : "Sender";
  const headers: Record<string, string> = { "x-amzn-RequestId": requestId, date: new Date().toUTCString() };
  if (code === "Throttled" || code === "ServiceUnavailable" || code === "InsufficientStorage") headers["retry-after"] = String(retryAfterSeconds ?? 1);
  if (protocol === "json") {
    return new Response(JSON.stringify({ __type: `com.amazonaws.sqs#${entry.sqs}`, message }), {
      status: entry.sqsStatus,
      headers: { ...headers, "content-type": JSON_CONTENT_TYPE, "x-amzn-query-error": `${entry.legacy};${fault}` },
    });
  }
  return new Response(xmlError(fault, entry.legacy, message, requestId), { status: entry.sqsStatus, headers: { ...headers, "content-type": "text/xml" } });
}

/** The queue a request names, for the usage record only; routing still goes through queueOf. */
function usageQueue(input: Record<string, unknown>): string | undefined {
  if (typeof input.QueueName === "string") return input.QueueName;
  if (typeof input.QueueUrl !== "string") return undefined;
  if (QUEUE_NAME_PATTERN.test(input.QueueUrl)) return input.QueueUrl;
  return /\/\d{12}\/([^/?#]+)\/?$/.exec(input.QueueUrl)?.[1];
}

function tooLarge(): ApiError {
  return new ApiError("PayloadTooLarge", `The request body must be at most ${MAX_SQS_REQUEST_BYTES} bytes.`);
}
