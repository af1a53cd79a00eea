// Dead-letter queues seen from SQS: ListDeadLetterSourceQueues and the
// message move tasks (StartMessageMoveTask, CancelMessageMoveTask,
// ListMessageMoveTasks) as calls on QueueService. Queues are named by ARN
// here; a TaskHandle carries its source queue, so a cancel can be authorized
// on that queue (the core's handle alone does not say which queue it moves).
import { MAX_LIST_QUEUES, QUEUE_NAME_PATTERN } from "../../shared/limits.js";
import type { MoveTaskView } from "../../objects/move-tasks.js";
import { ApiError } from "../api-error.js";
import { canSee } from "../guards/permissions.js";
import { authorizeQueue, queueOf, type Action, type ActionContext } from "./action.js";
import { invalid, optionalInt, optionalString, requiredString } from "./params.js";
import { decodeToken } from "./queue-actions.js";
import { queueArn, queueNameFromArn, queueUrl } from "./urls.js";

/** SQS: ListMessageMoveTasks returns the most recent tasks, up to 10 (1 by default). */
const MAX_LISTED_TASKS = 10;

async function listDeadLetterSourceQueues(context: ActionContext) {
  const { input, naming, service } = context;
  const name = queueOf(context, "see");
  const maxResults = optionalInt(input, "MaxResults", 1, MAX_LIST_QUEUES);
  const token = optionalString(input, "NextToken");
  const after = token === undefined ? null : decodeToken(token, "ListDeadLetterSourceQueues");
  const sources = (await service.deadLetterSourceQueues(name)).filter((source) => canSee(context.principal, source)).sort();
  const rest = after === null ? sources : sources.filter((source) => source > after);
  const page = rest.slice(0, maxResults ?? MAX_LIST_QUEUES);
  // As in ListQueues, a NextToken comes only when the caller asked for pages with MaxResults.
  const more = maxResults !== undefined && rest.length > page.length;
  return { queueUrls: page.map((source) => queueUrl(naming, source)), ...(more ? { NextToken: btoa(page.at(-1)!) } : {}) };
}

async function startMessageMoveTask(context: ActionContext) {
  const { input, service } = context;
  const source = await existingQueue(context, requiredString(input, "SourceArn"), "SourceArn");
  authorizeQueue(context.principal, source, "manage");
  const destinationArn = optionalString(input, "DestinationArn");
  const destination = destinationArn === undefined || destinationArn === "" ? null : await existingQueue(context, destinationArn, "DestinationArn");
  if (destination !== null) authorizeQueue(context.principal, destination, "send");
  const rate = optionalInt(input, "MaxNumberOfMessagesPerSecond", 1, 500) ?? null;
  const { taskHandle } = await service.startMoveTask(source, destination, rate);
  return { TaskHandle: encodeHandle(taskHandle, source) };
}

async function cancelMessageMoveTask(context: ActionContext) {
  const handle = requiredString(context.input, "TaskHandle");
  const decoded = decodeHandle(handle);
  authorizeQueue(context.principal, decoded.source, "manage");
  try {
    const task = await context.service.cancelMoveTask(decoded.handle, decoded.source);
    return { ApproximateNumberOfMessagesMoved: task.approximateNumberOfMessagesMoved };
  } catch (error) {
    if (error instanceof ApiError && error.code === "QueueDoesNotExist") throw taskNotFound();
    throw error;
  }
}

async function listMessageMoveTasks(context: ActionContext) {
  const { input, service } = context;
  const source = await existingQueue(context, requiredString(input, "SourceArn"), "SourceArn");
  authorizeQueue(context.principal, source, "see");
  const max = optionalInt(input, "MaxResults", 1, MAX_LISTED_TASKS) ?? 1;
  const tasks = await service.listMoveTasks(source, max);
  return { Results: tasks.map((task) => taskEntry(context, task)) };
}

function taskEntry(context: ActionContext, task: MoveTaskView) {
  return {
    ...(task.status === "RUNNING" ? { TaskHandle: encodeHandle(task.taskHandle, task.sourceQueue) } : {}),
    Status: task.status,
    SourceArn: queueArn(context.naming, task.sourceQueue),
    ...(task.destinationQueue === null ? {} : { DestinationArn: queueArn(context.naming, task.destinationQueue) }),
    MaxNumberOfMessagesPerSecond: task.maxNumberOfMessagesPerSecond,
    ApproximateNumberOfMessagesMoved: task.approximateNumberOfMessagesMoved,
    ApproximateNumberOfMessagesToMove: task.approximateNumberOfMessagesToMove,
    ...(task.failureReason === undefined ? {} : { FailureReason: task.failureReason }),
    StartedTimestamp: task.startedTimestamp,
  };
}

/** The queue an ARN names, which must exist: SQS answers ResourceNotFoundException otherwise. */
async function existingQueue(context: ActionContext, arn: string, field: string): Promise<string> {
  try {
    const name = queueNameFromArn(context.naming, arn, field);
    await context.service.getQueue(name);
    return name;
  } catch (error) {
    if (error instanceof ApiError && error.code === "QueueDoesNotExist") {
      throw new ApiError("ResourceNotFound", `The resource that you specified for the ${field} parameter doesn't exist.`);
    }
    throw error;
  }
}

function encodeHandle(handle: string, source: string): string {
  return btoa(JSON.stringify({ taskHandle: handle, sourceQueue: source }));
}

function decodeHandle(text: string): { handle: string; source: string } {
  try {
    const decoded = JSON.parse(atob(text)) as { taskHandle?: unknown; sourceQueue?: unknown };
    if (typeof decoded.taskHandle === "string" && typeof decoded.sourceQueue === "string" && QUEUE_NAME_PATTERN.test(decoded.sourceQueue)) return { handle: decoded.taskHandle, source: decoded.sourceQueue };
  } catch {
    // reported below
  }
  throw invalid("TaskHandle", text.slice(0, 200), "Must be a TaskHandle returned by StartMessageMoveTask or ListMessageMoveTasks.");
}

function taskNotFound(): ApiError {
  return new ApiError("ResourceNotFound", "Task does not exist.");
}

export const MOVE_ACTIONS: Record<string, Action> = {
  ListDeadLetterSourceQueues: listDeadLetterSourceQueues,
  StartMessageMoveTask: startMessageMoveTask,
  CancelMessageMoveTask: cancelMessageMoveTask,
  ListMessageMoveTasks: listMessageMoveTasks,
};
