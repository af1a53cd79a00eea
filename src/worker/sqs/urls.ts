// Queue URLs (`http(s)://<host>/<account>/<name>`) and ARNs
// (`arn:aws:sqs:<region>:<account>:<name>`): how SQS clients name a queue.
// Requests are routed by the QueueUrl they carry, never by the request path,
// and a URL naming another account's queue is a queue that does not exist here.
import { QUEUE_NAME_PATTERN } from "../../shared/limits.js";
import { ApiError } from "../api-error.js";

export interface QueueNaming {
  /** Scheme and host the client reached us on, e.g. http://127.0.0.1:8787 */
  origin: string;
  accountId: string;
  region: string;
}

export function queueUrl(naming: QueueNaming, name: string): string {
  return `${naming.origin}/${naming.accountId}/${name}`;
}

export function queueArn(naming: QueueNaming, name: string): string {
  return `arn:aws:sqs:${naming.region}:${naming.accountId}:${name}`;
}

/**
 * The queue name a QueueUrl names in this account. AWS accepts three forms,
 * and so does edgeq: the URL this endpoint returned (any host), the AWS form
 * `https://sqs.<region>.amazonaws.com/<account>/<name>` (the host is not
 * checked either), and a bare queue name. A URL whose path names no queue of
 * this account is a queue that does not exist, as AWS answers; only a string
 * that is neither a URL, a path nor a queue name is InvalidAddress.
 */
export function queueNameFromUrl(naming: QueueNaming, url: string): string {
  if (QUEUE_NAME_PATTERN.test(url)) return url;
  let path: string | null;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.startsWith("/") ? url : null;
  }
  if (path === null) throw new ApiError("InvalidAddress", `The address ${url} is not valid for this endpoint.`);
  const match = /^\/(\d{12})\/([^/]+)\/?$/.exec(path);
  if (!match) throw queueDoesNotExist();
  const [, account, name] = match as unknown as [string, string, string];
  if (account !== naming.accountId || !QUEUE_NAME_PATTERN.test(name)) throw queueDoesNotExist();
  return name;
}

/** The queue name an ARN names in this account (any region: edgeq has one). */
export function queueNameFromArn(naming: QueueNaming, arn: string, field: string): string {
  const match = /^arn:aws:sqs:[^:]*:(\d{12}):([^:]+)$/.exec(arn);
  if (!match) throw new ApiError("InvalidParameterValue", `Value ${arn} for parameter ${field} is invalid. Reason: must be an ARN arn:aws:sqs:<region>:<account id>:<queue name>.`);
  const [, account, name] = match as unknown as [string, string, string];
  if (account !== naming.accountId || !QUEUE_NAME_PATTERN.test(name)) throw queueDoesNotExist();
  return name;
}

export function queueDoesNotExist(): ApiError {
  return new ApiError("QueueDoesNotExist", "The specified queue does not exist.");
}
