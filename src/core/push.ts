// Push delivery over WebSocket: the rules of a subscription (who may
// subscribe, its credit and visibility bounds) and the sockets it opens. One
// subscriber's socket reaches every partition of the queue: the Worker opens
// one hibernatable socket to each Partition (src/objects/partition/push.ts)
// and relays them (push-session.ts), so the subscriber sees one stream
// whatever the partition count, and the partitions never see plaintext: the
// Worker opens each pushed message and issues its receipt handle, as a receive does.
import { MAX_IN_FLIGHT, MAX_VISIBILITY_TIMEOUT } from "../shared/limits.js";
import { checkRange, problems } from "../shared/problems.js";
import { DEFAULT_PUSH_CREDITS, MAX_PUSH_CREDITS } from "../shared/push.js";
import type { QueueRecord } from "../shared/types.js";
import { bounded, DEADLINES_MS, unavailable } from "./bulkhead.js";
import type { CoreConfig } from "./config.js";
import type { Directory } from "./directory.js";
import type { Messages } from "./messages.js";
import { authorize, type Principal } from "./permissions.js";
import { refuse, Refusal } from "./refusal.js";
import { spanIndexes } from "./routing.js";
import { PushSession, type FrameRenderer } from "./push-session.js";

export interface SubscribeRequest {
  /** Messages pushed and not yet acknowledged at most (0..MAX_PUSH_CREDITS); more with a credit frame. */
  credits?: number;
  /** Seconds each pushed message stays leased (default: the queue's visibilityTimeout). */
  visibilityTimeout?: number;
}

export class Push {
  readonly #env: Env;
  readonly #config: CoreConfig;
  readonly #caller: Principal;
  readonly #directory: Directory;
  readonly #messages: Messages;

  constructor(env: Env, config: CoreConfig, caller: Principal, directory: Directory, messages: Messages) {
    this.#env = env;
    this.#config = config;
    this.#caller = caller;
    this.#directory = directory;
    this.#messages = messages;
  }

  /**
   * Checks the subscription and opens its partition sockets; answers the
   * subscriber's end of a new socket pair, already relayed. A subscriber
   * acknowledges what it is pushed, so it needs `receive` and `delete`.
   */
  async subscribe(name: string, request: SubscribeRequest, render: FrameRenderer): Promise<WebSocket> {
    authorize(this.#caller, name, "receive");
    authorize(this.#caller, name, "delete");
    refuse(checkRange("credits", request.credits, [0, MAX_PUSH_CREDITS]) ?? checkRange("visibilityTimeout", request.visibilityTimeout, [0, MAX_VISIBILITY_TIMEOUT]));
    const queue = await this.#directory.queue(name);
    const visibilityTimeout = request.visibilityTimeout ?? queue.attributes.visibilityTimeout;
    const indexes = spanIndexes(queue);
    const partitions = await Promise.all(indexes.map((index) => this.#open(queue, index, visibilityTimeout, Math.ceil(MAX_IN_FLIGHT / indexes.length))));
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    new PushSession({ env: this.#env, config: this.#config, queue, messages: this.#messages, render, visibilityTimeout }, server, partitions, request.credits ?? DEFAULT_PUSH_CREDITS).start();
    return client;
  }

  async #open(queue: QueueRecord, index: number, visibilityTimeout: number, maxInFlight: number): Promise<{ index: number; socket: WebSocket }> {
    const stub = this.#env.PARTITION.get(this.#env.PARTITION.idFromName(this.#directory.partitionName(queue, index)));
    const query = new URLSearchParams({ incarnation: String(queue.incarnation), visibilityTimeout: String(visibilityTimeout), maxInFlight: String(maxInFlight) });
    // Bounded like every other partition call: a slow partition answers 503 ServiceUnavailable, not a hung upgrade.
    // (A socket accepted after the deadline holds no credit, so nothing is ever leased for it.)
    const label = this.#directory.partitionName(queue, index);
    const response = await bounded("partition", label, DEADLINES_MS.partition, () => stub.fetch(`https://partition/subscribe?${query}`, { headers: { upgrade: "websocket" } }));
    if (!response.webSocket) {
      const refused = (await response.json().catch(() => null)) as { code?: string } | null;
      if (refused?.code !== "QueueDoesNotExist") throw unavailable("partition", label, "failed", 0);
      this.#directory.forget(queue.name);
      throw new Refusal(problems.queueMissing(queue.name));
    }
    response.webSocket.accept();
    return { index, socket: response.webSocket };
  }
}
