// RedrivePolicy and RedriveAllowPolicy as SQS spells them: JSON strings that
// name queues by ARN (`{"deadLetterTargetArn":"arn:...","maxReceiveCount":"5"}`,
// `{"redrivePermission":"byQueue","sourceQueueArns":["arn:..."]}`), mapped to
// and from the core's policies, which name queues by name. Only the shape is
// checked here; the bounds are the core's (src/core/attributes.ts) and whether
// the queues exist and allow each other the Catalog's.
import type { RedriveAllowPolicy, RedrivePolicy } from "../../shared/limits.js";
import { ApiError } from "../api-error.js";
import { queueArn, queueNameFromArn, type QueueNaming } from "./urls.js";

const PERMISSIONS = ["allowAll", "denyAll", "byQueue"] as const;

/** The empty string removes the policy (null). */
export function parseRedrivePolicy(naming: QueueNaming, value: string): RedrivePolicy | null {
  if (value === "") return null;
  const policy = jsonObject("RedrivePolicy", value);
  const unknown = Object.keys(policy).find((key) => key !== "deadLetterTargetArn" && key !== "maxReceiveCount");
  if (unknown) throw invalid("RedrivePolicy", value, `Unknown field ${unknown}; a redrive policy has deadLetterTargetArn and maxReceiveCount.`);
  const arn = policy.deadLetterTargetArn;
  if (typeof arn !== "string" || arn === "") throw invalid("RedrivePolicy", value, "Redrive policy must contain deadLetterTargetArn, the ARN of the dead-letter queue.");
  const count = policy.maxReceiveCount;
  // SQS accepts the count as a number or as a string of digits.
  const maxReceiveCount = typeof count === "number" ? count : typeof count === "string" && /^\d{1,9}$/.test(count.trim()) ? Number(count) : NaN;
  if (Number.isNaN(maxReceiveCount)) {
    throw invalid("RedrivePolicy", value, `Invalid value for maxReceiveCount: ${String(count)}, valid values are from 1 to 1000 both inclusive.`);
  }
  return { deadLetterQueue: nameOf(naming, arn, "RedrivePolicy", value), maxReceiveCount };
}

export function parseRedriveAllowPolicy(naming: QueueNaming, value: string): RedriveAllowPolicy | null {
  if (value === "") return null;
  const policy = jsonObject("RedriveAllowPolicy", value);
  const unknown = Object.keys(policy).find((key) => key !== "redrivePermission" && key !== "sourceQueueArns");
  if (unknown) throw invalid("RedriveAllowPolicy", value, `Unknown field ${unknown}; a redrive allow policy has redrivePermission and sourceQueueArns.`);
  const permission = policy.redrivePermission;
  if (!PERMISSIONS.includes(permission as (typeof PERMISSIONS)[number])) {
    throw invalid("RedriveAllowPolicy", value, `redrivePermission must be one of ${PERMISSIONS.join(", ")}.`);
  }
  const arns = policy.sourceQueueArns;
  if (arns === undefined) return { redrivePermission: permission as RedriveAllowPolicy["redrivePermission"] };
  if (!Array.isArray(arns) || !arns.every((arn) => typeof arn === "string")) {
    throw invalid("RedriveAllowPolicy", value, "sourceQueueArns must be a list of queue ARNs.");
  }
  return {
    redrivePermission: permission as RedriveAllowPolicy["redrivePermission"],
    sourceQueues: (arns as string[]).map((arn) => nameOf(naming, arn, "RedriveAllowPolicy", value)),
  };
}

export function renderRedrivePolicy(naming: QueueNaming, policy: RedrivePolicy): string {
  return JSON.stringify({ deadLetterTargetArn: queueArn(naming, policy.deadLetterQueue), maxReceiveCount: policy.maxReceiveCount });
}

export function renderRedriveAllowPolicy(naming: QueueNaming, policy: RedriveAllowPolicy): string {
  return JSON.stringify({
    redrivePermission: policy.redrivePermission,
    ...(policy.sourceQueues ? { sourceQueueArns: policy.sourceQueues.map((name) => queueArn(naming, name)) } : {}),
  });
}

function jsonObject(name: string, value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw invalid(name, value, `${name} must be a JSON object.`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalid(name, value, `${name} must be a JSON object.`);
  return parsed as Record<string, unknown>;
}

/** An ARN of another account or a malformed one cannot name a queue of this account. */
function nameOf(naming: QueueNaming, arn: string, name: string, value: string): string {
  try {
    return queueNameFromArn(naming, arn, name);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    throw invalid(name, value, `${arn} is not the ARN of a queue in account ${naming.accountId} (arn:aws:sqs:<region>:<account id>:<queue name>).`);
  }
}

function invalid(name: string, value: string, reason: string): ApiError {
  return new ApiError("InvalidParameterValue", `Value ${value.slice(0, 512)} for parameter ${name} is invalid. Reason: ${reason}`);
}
