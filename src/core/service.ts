// The queue core's one entry point for the protocols: a QueueService per
// request, bound to the caller the front door authenticated. Queue
// operations, message operations and SQS-facing metadata each live in their
// own module; every rule they apply is written once, there.
import type { CoreConfig } from "./config.js";
import { Directory } from "./directory.js";
import { Extras } from "./extras.js";
import { Messages } from "./messages.js";
import { Monitoring } from "./monitoring.js";
import type { Principal } from "./permissions.js";
import { Queues } from "./queues.js";

export class QueueService {
  readonly queues: Queues;
  readonly messages: Messages;
  readonly extras: Extras;
  readonly monitoring: Monitoring;
  readonly accountId: string;

  constructor(env: Env, config: CoreConfig, caller: Principal) {
    const directory = new Directory(env, config);
    this.accountId = config.accountId;
    this.queues = new Queues(caller, directory);
    this.messages = new Messages(env, config, caller, directory);
    this.extras = new Extras(caller, directory);
    this.monitoring = new Monitoring(env, config, caller, directory);
  }
}
