// The queue core's one entry point for the protocols: a QueueService per
// request, bound to the caller the front door authenticated. Queue
// operations, message operations and SQS-facing metadata each live in their
// own module; every rule they apply is written once, there.
import type { CoreConfig } from "./config.js";
import { Cursors } from "./cursors.js";
import { Directory, type Background } from "./directory.js";
import { Extras } from "./extras.js";
import { Messages } from "./messages.js";
import { Monitoring } from "./monitoring.js";
import type { Principal } from "./permissions.js";
import { Push } from "./push.js";
import { Queues } from "./queues.js";
import { Schedules } from "./schedules.js";
import { Webhooks } from "./webhooks.js";

export class QueueService {
  readonly queues: Queues;
  readonly messages: Messages;
  readonly extras: Extras;
  /** Seals and opens the paging cursors of list answers. */
  readonly cursors: Cursors;
  readonly monitoring: Monitoring;
  readonly schedules: Schedules;
  /** WebSocket subscriptions (push delivery). */
  readonly push: Push;
  /** Push webhooks: the subscription (delivery is the Partition alarm's and worker/rest/webhook-delivery.ts's). */
  readonly webhooks: Webhooks;
  readonly accountId: string;

  /** `background` keeps work that outlives the response (a queue record's refresh) alive: ExecutionContext.waitUntil. */
  constructor(env: Env, config: CoreConfig, caller: Principal, background?: Background) {
    const directory = new Directory(env, config, background);
    this.accountId = config.accountId;
    this.extras = new Extras(caller, directory, config);
    this.queues = new Queues(caller, directory, this.extras);
    this.messages = new Messages(env, config, caller, directory);
    this.cursors = new Cursors(config, caller);
    this.monitoring = new Monitoring(env, config, caller, directory);
    this.schedules = new Schedules(env, config, caller, directory);
    this.push = new Push(env, config, caller, directory, this.messages);
    this.webhooks = new Webhooks(caller, directory, this.extras);
  }
}
