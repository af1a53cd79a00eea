// SQS actions on queues (create, find, list, attributes, tags, permissions,
// delete, purge) as calls on the queue core. Dead-letter sources and message
// move tasks live in move-actions.ts.
import { QUEUE_NAME_PATTERN } from "../../shared/limits.js";
import { problems } from "../../shared/problems.js";
import { Refusal } from "../../core/index.js";
import type { Action, ActionContext } from "./action.js";
import { queueOf } from "./action.js";
import { needsStats, parseQueueAttributes, renderAttributes, requestedAttributes } from "./attributes.js";
import { invalid, optionalNumber, optionalString, requiredString, stringList, stringMap } from "./params.js";
import { queueArn, queueDoesNotExist, queueUrl } from "./urls.js";

/** Without MaxResults SQS answers at most 1000 queues and no NextToken. */
const UNPAGED_LIMIT = 1000;

async function createQueue(context: ActionContext) {
  const { service, input, naming } = context;
  const name = requiredString(input, "QueueName");
  const { core, stored } = parseQueueAttributes(stringMap(input, "Attributes"), naming, "create");
  const tags = { ...stringMap(input, "tags"), ...stringMap(input, "Tags") };
  await service.queues.create(name, core, { explicitFifo: true, tags, stored });
  return { QueueUrl: queueUrl(naming, name) };
}

async function getQueueUrl(context: ActionContext) {
  const { service, input, naming } = context;
  const name = requiredString(input, "QueueName");
  const owner = optionalString(input, "QueueOwnerAWSAccountId");
  if ((owner !== undefined && owner !== naming.accountId) || !QUEUE_NAME_PATTERN.test(name)) throw queueDoesNotExist();
  await service.queues.get(name);
  return { QueueUrl: queueUrl(naming, name) };
}

async function listQueues(context: ActionContext) {
  const { service, input, naming } = context;
  const prefix = optionalString(input, "QueueNamePrefix") ?? "";
  const maxResults = optionalNumber(input, "MaxResults");
  const token = optionalString(input, "NextToken");
  const after = token === undefined ? null : await decodeToken(context, token);
  const { queues, more, last } = await service.queues.list(prefix, after, maxResults ?? UNPAGED_LIMIT);
  const result: Record<string, unknown> = {};
  if (queues.length > 0) result.QueueUrls = queues.map((queue) => queueUrl(naming, queue.name));
  // Sealed: the page may end on a queue the caller cannot see.
  if (more && last && maxResults !== undefined) result.NextToken = await service.cursors.seal(last);
  return result;
}

async function getQueueAttributes(context: ActionContext) {
  const { service, naming } = context;
  const name = queueOf(context);
  const wanted = requestedAttributes(stringList(context.input, "AttributeNames"));
  const queue = await service.queues.get(name);
  if (wanted.size === 0) return {};
  const [stats, stored, permissions] = await Promise.all([
    needsStats(wanted) ? service.queues.stats(name) : null,
    service.extras.read(name, "attribute"),
    wanted.has("Policy") ? service.extras.read(name, "permission") : {},
  ]);
  const Attributes = renderAttributes(wanted, { queue, naming, stats, stored, policy: renderPolicy(context, name, permissions) });
  return Object.keys(Attributes).length > 0 ? { Attributes } : {};
}

async function setQueueAttributes(context: ActionContext) {
  const name = queueOf(context);
  const { core, stored } = parseQueueAttributes(stringMap(context.input, "Attributes"), context.naming, "set");
  if (Object.keys(core).length > 0) await context.service.queues.update(name, core);
  if (Object.keys(stored).length > 0) await context.service.extras.store(name, stored);
  return null;
}

async function deleteQueue(context: ActionContext) {
  await context.service.queues.delete(queueOf(context));
  return null;
}

async function purgeQueue(context: ActionContext) {
  await context.service.queues.purge(queueOf(context));
  return null;
}

async function tagQueue(context: ActionContext) {
  const tags = stringMap(context.input, "Tags");
  if (Object.keys(tags).length === 0) throw new Refusal(problems.missing("tags"));
  await context.service.extras.tag(queueOf(context), tags);
  return null;
}

async function untagQueue(context: ActionContext) {
  await context.service.extras.untag(queueOf(context), stringList(context.input, "TagKeys"));
  return null;
}

async function listQueueTags(context: ActionContext) {
  const tags = await context.service.extras.read(queueOf(context), "tag");
  return Object.keys(tags).length > 0 ? { Tags: tags } : {};
}

async function addPermission(context: ActionContext) {
  const { input } = context;
  const name = queueOf(context);
  await context.service.extras.addPermission(name, requiredString(input, "Label"), { accounts: stringList(input, "AWSAccountIds"), actions: stringList(input, "Actions") });
  return null;
}

async function removePermission(context: ActionContext) {
  await context.service.extras.removePermission(queueOf(context), requiredString(context.input, "Label"));
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

/** A NextToken is the last name on the previous page, sealed for the caller (src/core/cursors.ts). */
export async function decodeToken(context: ActionContext, token: string, action = "ListQueues"): Promise<string> {
  const name = await context.service.cursors.open(token);
  if (name !== null && QUEUE_NAME_PATTERN.test(name)) return name;
  throw invalid("NextToken", token, `Must be a NextToken returned by ${action}.`);
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
      // SQS writes a single principal or action as a string, several as a list.
      Principal: { AWS: single(accounts.map((account) => `arn:aws:iam::${account}:root`)) },
      Action: single(actions.map((action) => `SQS:${action}`)),
      Resource: resource,
    };
  });
  return JSON.stringify({ Version: "2012-10-17", Id: `${resource}/SQSDefaultPolicy`, Statement });
}

function single(items: string[]): string | string[] {
  return items.length === 1 ? items[0]! : items;
}
