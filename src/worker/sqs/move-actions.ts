// Dead-letter queues seen from SQS: ListDeadLetterSourceQueues and the
// message move tasks (StartMessageMoveTask, CancelMessageMoveTask,
// ListMessageMoveTasks) as calls on the queue core. Queues are named by ARN
// here; a TaskHandle carries its source queue, so a cancel can be authorized
// on that queue (the core's handle alone does not say which queue it moves).
import { Refusal, type MoveTaskView } from "../../core/index.js";
import { MAX_LIST_QUEUES, QUEUE_NAME_PATTERN } from "../../shared/limits.js";
import { ApiError } from "../api-error.js";
import { queueOf, type Action, type ActionContext } from "./action.js";
import { invalid, optionalInt, optionalNumber, optionalString, requiredString } from "./params.js";
import { decodeToken } from "./queue-actions.js";
import { renderSqs } from "./render.js";
import { queueArn, queueNameFromArn, queueUrl } from "./urls.js";

/** SQS: ListMessageMoveTasks returns the most recent tasks, up to 10 (1 by default). */
const MAX_LISTED_TASKS = 10;

async function listDeadLetterSourceQueues(context: ActionContext) {
  const { input, naming, service } = context;
  const name = queueOf(context);
  const maxResults = optionalInt(input, "MaxResults", 1, MAX_LIST_QUEUES);
  const token = optionalString(input, "NextToken");
  const after = token === undefined ? null : await decodeToken(context, token, "ListDeadLetterSourceQueues");
  const sources = (await service.queues.deadLetterSources(name)).sort();
  const rest = after === null ? sources : sources.filter((source) => source > after);
  const page = rest.slice(0, maxResults ?? MAX_LIST_QUEUES);
  // As in ListQueues, a NextToken comes only when the caller asked for pages with MaxResults.
  const more = maxResults !== undefined && rest.length > page.length;
  return { queueUrls: page.map((source) => queueUrl(naming, source)), ...(more ? { NextToken: await service.cursors.seal(page.at(-1)!) } : {}) };
}

async function startMessageMoveTask(context: ActionContext) {
  const { input, service } = context;
  const source = await existingQueue(context, requiredString(input, "SourceArn"), "SourceArn");
  const destinationArn = optionalString(input, "DestinationArn");
  const destination = destinationArn === undefined || destinationArn === "" ? null : await existingQueue(context, destinationArn, "DestinationArn");
  const rate = optionalNumber(input, "MaxNumberOfMessagesPerSecond") ?? null;
  const { taskHandle } = await service.queues.startMoveTask(source, destination, rate);
  return { TaskHandle: encodeHandle(taskHandle, source) };
}

async function cancelMessageMoveTask(context: ActionContext) {
  const handle = requiredString(context.input, "TaskHandle");
  const decoded = decodeHandle(handle);
  try {
    const task = await context.service.queues.cancelMoveTask(decoded.handle, decoded.source);
    return { ApproximateNumberOfMessagesMoved: task.approximateNumberOfMessagesMoved };
  } catch (error) {
    if (error instanceof Refusal && error.problem.code === "QueueDoesNotExist") throw taskNotFound();
    throw error;
  }
}

async function listMessageMoveTasks(context: ActionContext) {
  const { input, service } = context;
  const source = await existingQueue(context, requiredString(input, "SourceArn"), "SourceArn");
  const max = optionalInt(input, "MaxResults", 1, MAX_LISTED_TASKS) ?? 1;
  const tasks = await service.queues.listMoveTasks(source, max);
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
    ...(task.failure === undefined ? {} : { FailureReason: renderSqs(task.failure, { naming: context.naming }).message }),
    StartedTimestamp: task.startedTimestamp,
  };
}

/** The queue an ARN names, which must exist: SQS answers ResourceNotFoundException otherwise. */
async function existingQueue(context: ActionContext, arn: string, field: string): Promise<string> {
  try {
    const name = queueNameFromArn(context.naming, arn, field);
    await context.service.queues.get(name);
    return name;
  } catch (error) {
    if ((error instanceof ApiError && error.code === "QueueDoesNotExist") || (error instanceof Refusal && error.problem.code === "QueueDoesNotExist")) {
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
