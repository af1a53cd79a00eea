// What the protocol adapters and the front door may use of the queue core.
export { QueueService } from "./service.js";
export type { Cursors } from "./cursors.js";
export { problemOf, Refusal } from "./refusal.js";
export { serverState, type StorageReport } from "./server-state.js";
export { storageRefusal } from "./bulkhead.js";
export { authorize, can, canSee, covers, ACTIONS, type Action, type Grant, type Principal } from "./permissions.js";
export type { CoreConfig } from "./config.js";
export type { Batch, ReceivedMessage, ReceiveRequest, SendSuccess } from "./messages.js";
export type { ScheduleInput, ScheduleView } from "./schedules.js";
export { checkBatchSize, type SendEntry, type SendOptions } from "./send.js";
export type { CreateOptions } from "./attributes.js";
export { FIFO_ONLY } from "./attributes.js";
export { MAX_TAGS, PERMISSION_ACTIONS, type Permission } from "./extras.js";
export type { MoveTaskView } from "../shared/types.js";
export type { ExtraKind } from "../objects/catalog/catalog.js";
export { PEEK_STATES, type PeekedView, type PeekState, type QueueGauges, type QueueSeries } from "./monitoring.js";
export type { SubscribeRequest } from "./push.js";
export type { FrameProblem } from "./push-session.js";
