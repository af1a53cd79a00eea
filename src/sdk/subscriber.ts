// Push delivery for the SDK: `queue.subscribe(handler, { credits })` holds a
// WebSocket to GET /v1/queues/:name/subscribe and runs the handler on each
// message the server pushes. A handler that returns acknowledges its message
// (deleted); one that throws nacks it (visible again, after `retryDelay`).
// The server pushes at most `credits` messages not yet acknowledged, so the
// credit is also the handler concurrency. FIFO messages of one group run one
// at a time, in order. A socket that drops is opened again with full-jitter
// backoff; a message whose socket is gone is acknowledged over REST instead.
// Uses only the standard WebSocket (browsers, Workers, Deno, Node 22+).
import { BEARER_PROTOCOL_PREFIX, DEFAULT_PUSH_CREDITS, MAX_PUSH_CREDITS, PUSH_PROTOCOL, type ServerFrame } from "../shared/push.js";
import { EdgeQError, errorFromCode } from "./errors.js";
import type { Handler } from "./consumer.js";
import type { Queue } from "./queue.js";
import type { Transport } from "./transport.js";
import { Message, type MessageData } from "./types.js";

const ACK_BATCH = 10;
const ACK_LINGER_MS = 2;
/** How long stop() waits for the server's `drained` before it closes anyway (the relay then hands back what it pushed). */
const DRAIN_TIMEOUT_MS = 5_000;
/** How long a WebSocket handshake may take before it is abandoned and tried again. */
const CONNECT_TIMEOUT_MS = 10_000;

export interface SubscribeOptions {
  /** Messages pushed and not yet acknowledged at most (1..1000); also how many handlers run at once. Default 10. */
  credits?: number;
  /** Seconds each pushed message stays leased (default: the queue's visibilityTimeout). */
  visibilityTimeout?: number;
  /** After a handler throws, the message is visible again after this many seconds. Default 0 (at once). */
  retryDelay?: number | ((message: Message, error: unknown) => number);
  /** Aborting it stops the subscription, like `stop()`. */
  signal?: AbortSignal;
  onProcessed?: (message: Message) => void;
  onFailed?: (error: unknown, message: Message) => void;
  /** The subscription's own troubles: an error frame, a dropped socket (it reconnects), a failed REST ack. */
  onError?: (error: unknown) => void;
  /** Another WebSocket class, where there is no global one. */
  WebSocket?: typeof WebSocket;
}

/** Frame-level errors the server reports, with its stable code (`code`) and the receipt handles concerned. */
export class PushFrameError extends EdgeQError {
  override name = "PushFrameError";
  readonly receiptHandles: readonly string[];

  constructor(code: string, message: string, receiptHandles: readonly string[] = []) {
    super(code, message, 0);
    this.receiptHandles = receiptHandles;
  }
}

export class Subscription {
  readonly #queue: Queue;
  readonly #transport: Transport;
  readonly #handler: Handler;
  readonly #options: SubscribeOptions;
  readonly #credits: number;
  readonly #running = new Set<Promise<void>>();
  readonly #groups = new Map<string, Promise<void>>();
  readonly #finished: Promise<void>;
  #socket: WebSocket | null = null;
  /** Acks waiting to go out together (at most ACK_LINGER_MS). */
  #acks: string[] = [];
  #ackTimer: ReturnType<typeof setTimeout> | undefined;
  #drained: (() => void) | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  /** Pushed messages since the last (re)connect: the backoff starts over once one arrives. */
  #attempt = 0;

  constructor(queue: Queue, transport: Transport, handler: Handler, options: SubscribeOptions = {}) {
    this.#queue = queue;
    this.#transport = transport;
    this.#handler = handler;
    this.#options = options;
    const credits = options.credits ?? DEFAULT_PUSH_CREDITS;
    if (!Number.isSafeInteger(credits) || credits < 1 || credits > MAX_PUSH_CREDITS) throw new RangeError(`credits must be an integer between 1 and ${MAX_PUSH_CREDITS}, got ${credits}`);
    this.#credits = credits;
    options.signal?.addEventListener("abort", () => void this.stop(), { once: true });
    this.#finished = this.#run();
  }

  /** Resolves once stopped and every running handler has finished and been acknowledged; rejects if the queue is gone. */
  get done(): Promise<void> {
    return this.#finished;
  }

  /** Stops taking messages, lets running handlers finish (their acks sent), then closes the socket. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#finished.catch(() => undefined);
  }

  async #run(): Promise<void> {
    const WebSocketClass = this.#options.WebSocket ?? globalThis.WebSocket;
    if (!WebSocketClass) throw new TypeError("no WebSocket here: pass options.WebSocket");
    let opened = false;
    while (!this.#stopping && !this.#options.signal?.aborted) {
      // A refused upgrade shows a WebSocket nothing but a failure: ask over REST
      // first (and after a socket that never opened), so a missing queue or a
      // rejected key ends the subscription with its error instead of retrying forever.
      if (!opened) await this.#check();
      if (this.#stopping) break;
      const ended = await this.#connect(WebSocketClass);
      opened = ended !== "failed";
      if (ended === "gone") {
        await Promise.allSettled(this.#running);
        throw errorFromCode("QueueDoesNotExist", `queue ${this.#queue.name} does not exist`, 404);
      }
      if (this.#stopping) break;
      const delay = this.#transport.backoff(this.#attempt++);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    await Promise.allSettled(this.#running);
    if (this.#socket) this.#flush(this.#socket);
    else if (this.#acks.length > 0) await this.#queue.deleteBatch(this.#acks.splice(0)).catch((error: unknown) => this.#options.onError?.(error));
    this.#socket?.close(1000, "stopped");
  }

  /**
   * A graceful stop: ask the server to push nothing more and wait until
   * nothing more is on its way (what still arrives is handed back, #deliver),
   * let the running handlers finish, send their acks, then close.
   */
  async #finish(socket: WebSocket): Promise<void> {
    if (socket.readyState === 1) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const drained = new Promise<void>((resolve) => {
        this.#drained = resolve;
        socket.addEventListener("close", () => resolve());
        timer = setTimeout(resolve, DRAIN_TIMEOUT_MS);
      });
      socket.send(JSON.stringify({ type: "drain" }));
      await drained;
      clearTimeout(timer);
    }
    await Promise.allSettled(this.#running);
    this.#flush(socket);
    socket.close(1000, "stopped");
  }

  /** Rejects with the server's error when the queue cannot be subscribed to (4xx); other failures are retried. */
  async #check(): Promise<void> {
    try {
      await this.#queue.get({ signal: this.#options.signal });
    } catch (error) {
      if (error instanceof EdgeQError && error.status >= 400 && error.status < 500 && error.status !== 429) {
        await Promise.allSettled(this.#running);
        throw error;
      }
      this.#options.onError?.(error);
    }
  }

  /** One socket's life: resolves when it closes ("gone": the queue no longer exists; "failed": it never opened). */
  #connect(WebSocketClass: typeof WebSocket): Promise<"closed" | "gone" | "failed"> {
    const { url, secret } = this.#transport.socket(`/queues/${encodeURIComponent(this.#queue.name)}/subscribe`);
    const query = new URLSearchParams({ credits: String(this.#credits) });
    if (this.#options.visibilityTimeout !== undefined) query.set("visibilityTimeout", String(this.#options.visibilityTimeout));
    const protocols = [PUSH_PROTOCOL, ...(secret ? [`${BEARER_PROTOCOL_PREFIX}${secret}`] : [])];
    const socket = new WebSocketClass(`${url}?${query}`, protocols);
    this.#socket = socket;
    let open = false;
    // A handshake that never completes (a server going down mid-accept) is given up and retried.
    const handshake = setTimeout(() => socket.close(), CONNECT_TIMEOUT_MS);
    return new Promise((resolve) => {
      this.#wake = () => void this.#finish(socket);
      socket.addEventListener("open", () => {
        open = true;
        clearTimeout(handshake);
      });
      socket.addEventListener("message", (event) => {
        let frame: ServerFrame;
        try {
          frame = JSON.parse(String(event.data)) as ServerFrame;
        } catch {
          return;
        }
        if (frame.type === "message") {
          this.#attempt = 0;
          this.#deliver(socket, new Message(frame.message as unknown as MessageData));
        } else if (frame.type === "drained") {
          this.#drained?.();
        } else if (frame.type === "error") {
          this.#options.onError?.(new PushFrameError(frame.code, frame.message, frame.receiptHandles));
        }
      });
      let ended = false;
      const end = (code: number, reason: string) => {
        if (ended) return;
        ended = true;
        clearTimeout(handshake);
        if (this.#socket === socket) this.#socket = null;
        if (code !== 1000 && !this.#stopping) this.#options.onError?.(new EdgeQError("NetworkError", `subscription closed (${code} ${reason}); reconnecting`, 0));
        resolve(code === 4404 ? "gone" : open ? "closed" : "failed");
      };
      socket.addEventListener("close", (event) => end(event.code, event.reason));
      // Some clients (Node's undici) report a failed handshake with an error and no close event.
      socket.addEventListener("error", () => {
        if (!open) end(1006, "the handshake failed");
      });
    });
  }

  /** Runs the handler (after the previous message of its FIFO group), then acks or nacks. */
  #deliver(socket: WebSocket, message: Message): void {
    if (this.#stopping) return void this.#answer(socket, { type: "nack", receiptHandles: [message.receiptHandle], delaySeconds: 0 }, message); // arrived after stop(): handed back at once
    const group = message.messageGroupId;
    const before = group === undefined ? Promise.resolve() : (this.#groups.get(group) ?? Promise.resolve());
    const task = before.then(async () => {
      try {
        await this.#handler(message);
      } catch (error) {
        this.#options.onFailed?.(error, message);
        const retry = this.#options.retryDelay;
        const delaySeconds = typeof retry === "function" ? retry(message, error) : (retry ?? 0);
        await this.#answer(socket, { type: "nack", receiptHandles: [message.receiptHandle], delaySeconds }, message);
        return;
      }
      await this.#answer(socket, { type: "ack", receiptHandles: [message.receiptHandle] }, message);
      this.#options.onProcessed?.(message);
    });
    this.#running.add(task);
    if (group !== undefined) this.#groups.set(group, task);
    void task.finally(() => {
      this.#running.delete(task);
      if (group !== undefined && this.#groups.get(group) === task) this.#groups.delete(group);
    });
  }

  #flush(socket: WebSocket): void {
    clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
    const receiptHandles = this.#acks.splice(0);
    if (receiptHandles.length === 0) return;
    if (socket.readyState === 1) socket.send(JSON.stringify({ type: "ack", receiptHandles }));
    else void this.#queue.deleteBatch(receiptHandles).catch((error: unknown) => this.#options.onError?.(error));
  }

  /** Over the socket that pushed the message if it is still open, else over REST (the handle is the same lease). */
  async #answer(socket: WebSocket, frame: { type: "ack" | "nack"; receiptHandles: string[]; delaySeconds?: number }, message: Message): Promise<void> {
    if (socket.readyState === 1) {
      if (frame.type === "nack") return socket.send(JSON.stringify(frame));
      // Acks that finish together travel in one frame (one delete call on the server).
      this.#acks.push(...frame.receiptHandles);
      if (this.#acks.length >= ACK_BATCH) this.#flush(socket);
      else this.#ackTimer ??= setTimeout(() => this.#flush(socket), ACK_LINGER_MS);
      return;
    }
    try {
      if (frame.type === "ack") await this.#queue.delete(message.receiptHandle);
      else await this.#queue.changeVisibility(message.receiptHandle, frame.delaySeconds ?? 0);
    } catch (error) {
      this.#options.onError?.(error);
    }
  }
}
