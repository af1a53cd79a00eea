// SQS actions on queues (create, find, list, attributes, tags, permissions,
// delete, purge) as calls on QueueService. Dead-letter sources and message
// move tasks live in move-actions.ts.
import { DEFAULT_ATTRIBUTES, MAX_LIST_QUEUES, QUEUE_NAME_PATTERN, type QueueAttributes } from "../../shared/limits.js";
import { ApiError } from "../api-error.js";
import type { Action, ActionContext } from "./action.js";
import { canSee } from "../guards/permissions.js";
import { authorizeQueue, queueOf } from "./action.js";
import { checkThroughput, needsStats, parseQueueAttributes, renderAttributes, requestedAttributes } from "./attributes.js";
import { invalid, missing, optionalInt, optionalString, requiredString, stringList, stringMap } from "./params.js";
import { queueArn, queueDoesNotExist, queueUrl } from "./urls.js";

const MAX_TAGS = 50;
const PERMISSION_ACTIONS = new Set(["*", "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes", "GetQueueUrl", "ListDeadLetterSourceQueues", "PurgeQueue", "ListQueueTags"]);

async function createQueue(context: ActionContext) {
  const { service, input, naming } = context;
  const name = requiredString(input, "QueueName");
  const given = stringMap(input, "Attributes");
  // SQS: FifoQueue=true makes a FIFO queue, whose name must end in .fifo; no other queue's name may.
  const fifo = given.FifoQueue === "true";
  if (!QUEUE_NAME_PATTERN.test(name) || name.endsWith(".fifo") !== fifo) {
    throw invalid("QueueName", name, fifo
      ? "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
      : "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length. A name ending in .fifo needs the attribute FifoQueue=true.");
  }
  authorizeQueue(context.principal, name, "manage");
  const attributes = parseQueueAttributes(given, naming, { fifo, creating: true });
  if (fifo) checkThroughput({ ...DEFAULT_ATTRIBUTES, ...attributes.core });
  const tags = checkTags({ ...stringMap(input, "tags"), ...stringMap(input, "Tags") });
  const existing = await service.getQueue(name).catch((error: unknown) => {
    if (error instanceof ApiError && error.code === "QueueDoesNotExist") return null;
    throw error;
  });
  if (existing) {
    // SQS compares only the attributes the request names.
    for (const [key, value] of Object.entries(attributes.core) as [keyof QueueAttributes, unknown][]) {
      if (canonical(existing.attributes[key]) !== canonical(value)) {
        throw new ApiError("QueueAlreadyExists", `A queue already exists with the same name and a different value for attribute ${sqsName(key)}`);
      }
    }
    return { QueueUrl: queueUrl(naming, name) };
  }
  await service.createQueue(name, attributes.core);
  if (Object.keys(attributes.stored).length > 0) await service.updateQueueExtras(name, "attribute", { set: attributes.stored });
  if (Object.keys(tags).length > 0) await service.updateQueueExtras(name, "tag", { set: tags, maxEntries: MAX_TAGS });
  return { QueueUrl: queueUrl(naming, name) };
}

async function getQueueUrl(context: ActionContext) {
  const { service, input, naming } = context;
  const name = requiredString(input, "QueueName");
  const owner = optionalString(input, "QueueOwnerAWSAccountId");
  if ((owner !== undefined && owner !== naming.accountId) || !QUEUE_NAME_PATTERN.test(name)) throw queueDoesNotExist();
  authorizeQueue(context.principal, name, "see");
  await service.getQueue(name);
  return { QueueUrl: queueUrl(naming, name) };
}

async function listQueues(context: ActionContext) {
  const { service, input, naming } = context;
  const prefix = optionalString(input, "QueueNamePrefix") ?? "";
  const maxResults = optionalInt(input, "MaxResults", 1, MAX_LIST_QUEUES);
  const token = optionalString(input, "NextToken");
  const after = token === undefined ? null : decodeToken(token);
  const { queues, more } = await service.listQueues(prefix, after, maxResults ?? MAX_LIST_QUEUES);
  const result: Record<string, unknown> = {};
  const visible = queues.filter((queue) => canSee(context.principal, queue.name));
  if (visible.length > 0) result.QueueUrls = visible.map((queue) => queueUrl(naming, queue.name));
  // Without MaxResults SQS answers at most 1000 queues and no token.
  if (more && maxResults !== undefined) result.NextToken = btoa(queues.at(-1)!.name);
  return result;
}

async function getQueueAttributes(context: ActionContext) {
  const { service, naming } = context;
  const name = queueOf(context, "see");
  const wanted = requestedAttributes(stringList(context.input, "AttributeNames"));
  const queue = await service.getQueue(name);
  if (wanted.size === 0) return {};
  const [stats, stored, permissions] = await Promise.all([
    needsStats(wanted) ? service.stats(name) : null,
    service.queueExtras(name, "attribute"),
    wanted.has("Policy") ? service.queueExtras(name, "permission") : {},
  ]);
  const Attributes = renderAttributes(wanted, { queue, naming, stats, stored, policy: renderPolicy(context, name, permissions) });
  return Object.keys(Attributes).length > 0 ? { Attributes } : {};
}

async function setQueueAttributes(context: ActionContext) {
  const { service } = context;
  const name = queueOf(context, "manage");
  const given = stringMap(context.input, "Attributes");
  const queue = await service.getQueue(name);
  const attributes = parseQueueAttributes(given, context.naming, { fifo: queue.attributes.fifoQueue, creating: false });
  if (queue.attributes.fifoQueue) checkThroughput({ ...queue.attributes, ...attributes.core });
  if (Object.keys(attributes.core).length > 0) await service.updateQueue(name, attributes.core);
  if (Object.keys(attributes.stored).length > 0) await service.updateQueueExtras(name, "attribute", { set: attributes.stored });
  return null;
}

async function deleteQueue(context: ActionContext) {
  await context.service.deleteQueue(queueOf(context, "admin"));
  return null;
}

async function purgeQueue(context: ActionContext) {
  await context.service.purge(queueOf(context, "manage"));
  return null;
}

async function tagQueue(context: ActionContext) {
  const name = queueOf(context, "manage");
  const tags = checkTags(stringMap(context.input, "Tags"));
  if (Object.keys(tags).length === 0) throw missing("Tags");
  await context.service.updateQueueExtras(name, "tag", { set: tags, maxEntries: MAX_TAGS });
  return null;
}

async function untagQueue(context: ActionContext) {
  const name = queueOf(context, "manage");
  const keys = stringList(context.input, "TagKeys");
  if (keys.length === 0) throw missing("TagKeys");
  await context.service.updateQueueExtras(name, "tag", { remove: keys });
  return null;
}

async function listQueueTags(context: ActionContext) {
  const tags = await context.service.queueExtras(queueOf(context, "see"), "tag");
  return Object.keys(tags).length > 0 ? { Tags: tags } : {};
}

async function addPermission(context: ActionContext) {
  const { input } = context;
  const name = queueOf(context, "manage");
  const label = requiredString(input, "Label");
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(label)) throw invalid("Label", label, "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length.");
  const accounts = stringList(input, "AWSAccountIds");
  const actions = stringList(input, "Actions");
  if (accounts.length === 0) throw missing("AWSAccountIds");
  if (actions.length === 0) throw missing("Actions");
  for (const account of accounts) if (!/^\d{12}$/.test(account)) throw invalid("AWSAccountIds", account, "Must be a 12-digit account id.");
  for (const action of actions) if (!PERMISSION_ACTIONS.has(action)) throw invalid("Actions", action, `Must be one of ${[...PERMISSION_ACTIONS].join(", ")}.`);
  await context.service.updateQueueExtras(name, "permission", { set: { [label]: JSON.stringify({ accounts, actions }) }, mustBeNew: true });
  return null;
}

async function removePermission(context: ActionContext) {
  const name = queueOf(context, "manage");
  const label = requiredString(context.input, "Label");
  await context.service.updateQueueExtras(name, "permission", { remove: [label], mustExist: true });
  return null;
}

export const QUEUE_ACTIONS: Record<string, Action> = {
  CreateQueue: createQueue,
  GetQueueUrl: getQueueUrl,
  ListQueues: listQueues,
  GetQueueAttributes: getQueueAttributes,
  SetQueueAttributes: setQueueAttributes,
  DeleteQueue: deleteQueue,
  PurgeQueue: purgeQueue,
  TagQueue: tagQueue,
  UntagQueue: untagQueue,
  ListQueueTags: listQueueTags,
  AddPermission: addPermission,
  RemovePermission: removePermission,
};

function checkTags(tags: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(tags)) {
    if (key.length < 1 || key.length > 128) throw invalid("Tag key", key, "Must be 1 to 128 characters.");
    if (value.length > 256) throw invalid("Tag value", `of ${value.length} characters`, "Must be at most 256 characters.");
  }
  if (Object.keys(tags).length > MAX_TAGS) throw new ApiError("InvalidParameterValue", `Too many tags: a queue may have at most ${MAX_TAGS}.`);
  return tags;
}

/** A NextToken is the base64 of the last name on the previous page. */
export function decodeToken(token: string, action = "ListQueues"): string {
  try {
    const name = atob(token);
    if (QUEUE_NAME_PATTERN.test(name)) return name;
  } catch {
    // reported below
  }
  throw invalid("NextToken", token, `Must be a NextToken returned by ${action}.`);
}

/** JSON with sorted keys, so two equal policies compare equal whatever their key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_, item: unknown) => (item && typeof item === "object" && !Array.isArray(item)
    ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : item)) ?? "null";
}

function sqsName(key: keyof QueueAttributes): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

/** The policy document AddPermission grants amount to, as SQS reports it in the Policy attribute. */
function renderPolicy(context: ActionContext, name: string, permissions: Record<string, string>): string | null {
  const labels = Object.keys(permissions);
  if (labels.length === 0) return null;
  const resource = queueArn(context.naming, name);
  const Statement = labels.map((label) => {
    const { accounts, actions } = JSON.parse(permissions[label]!) as { accounts: string[]; actions: string[] };
    return {
      Sid: label,
      Effect: "Allow",
      Principal: { AWS: accounts.map((account) => `arn:aws:iam::${account}:root`) },
      Action: actions.map((action) => `SQS:${action}`),
      Resource: resource,
    };
  });
  return JSON.stringify({ Version: "2012-10-17", Id: `${resource}/SQSDefaultPolicy`, Statement });
}
