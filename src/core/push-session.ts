// One subscriber's socket, relayed to the queue's partitions (push.ts opens
// them). The subscriber grants credit: that many messages pushed and not yet
// acknowledged at most. The session hands that credit to the partitions
// (a partition holds what it may still lease for this subscriber), opens what
// they push, gives each message its receipt handle and forwards it; nacks
// and extends go through the same core call as REST visibility changes, and
// acks go to their partition with its next credit (see #flushAcks). A partition with messages but no credit says `ready`;
// when no credit is free, the session takes back what idle partitions hold
// (`revoke`) and gives it to the ready ones. Bad frames get an error frame;
// nothing a subscriber sends can close another's socket or touch its messages.
import { MAX_VISIBILITY_TIMEOUT } from "../shared/limits.js";
import type { Problem } from "../shared/problems.js";
import { MAX_CLIENT_FRAME_BYTES, MAX_FRAME_HANDLES, MAX_PUSH_CREDITS, type PartitionFrame, type PushErrorCode, type RelayFrame, type ServerFrame, type WireLeased } from "../shared/push.js";
import type { LeasedMessage, LeaseRef, QueueRecord } from "../shared/types.js";
import type { CoreConfig } from "./config.js";
import { openReceived } from "./envelope.js";
import { receivedMessage, type Messages, type ReceivedMessage } from "./messages.js";
import { Refusal } from "./refusal.js";
import { serverState } from "./server-state.js";

/** A frame the subscriber got wrong, as data; the protocol adapter words it. */
export interface FrameProblem {
  code: PushErrorCode;
  field?: string;
  bound?: number | readonly number[];
  value?: string | number | null;
}

export type FrameRenderer = (problem: FrameProblem | Problem) => string;

export interface SessionContext {
  env: Env;
  config: CoreConfig;
  queue: QueueRecord;
  messages: Messages;
  render: FrameRenderer;
  visibilityTimeout: number;
}

interface Link {
  index: number;
  socket: WebSocket;
  /** Credit granted to this partition and not yet used or returned. */
  held: number;
  ready: boolean;
  revoking: boolean;
  /** Acked leases not yet sent to this partition (they go with its next credit frame, or alone at once). */
  acks: LeaseRef[];
}

/** Handles this session issued, remembered so an ack of anyone else's is refused; bounded. */
const MAX_ISSUED = 10_000;
const encoder = new TextEncoder();
/** How often a session of the self-hosted server looks whether a drain began (serverState.draining). */
const DRAIN_CHECK_MS = 200;

export class PushSession {
  readonly #context: SessionContext;
  readonly #client: WebSocket;
  readonly #links: Link[];
  #credits: number;
  /** Pushed, not acknowledged, lease not expired: receipt handle -> when the lease ends. */
  readonly #inFlight = new Map<string, number>();
  /** Handles this session issued: where each one's lease lives, so an ack goes straight to its partition. */
  readonly #issued = new Map<string, { link: Link; lease: LeaseRef }>();
  /** Pushed by a partition, still being opened. */
  #opening = 0;
  /** Partition frames in order: opening is async, and FIFO order must survive it. */
  #chain: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #drainCheck: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #draining = false;
  #drainedSent = false;

  constructor(context: SessionContext, client: WebSocket, partitions: { index: number; socket: WebSocket }[], credits: number) {
    this.#context = context;
    this.#client = client;
    this.#links = partitions.map(({ index, socket }) => ({ index, socket, held: 0, ready: false, revoking: false, acks: [] }));
    this.#credits = credits;
  }

  start(): void {
    // A drain must close subscriber sockets, or they hold the runtime's own drain open to its deadline. A socket
    // can only be closed from the request that opened it (workerd's I/O context), so each session looks for itself.
    if (this.#context.env.EDGEQ_CONTROL_TOKEN) this.#drainCheck = setInterval(() => {
      if (serverState.draining) this.#close(1012, "the server is shutting down; reconnect");
    }, DRAIN_CHECK_MS);
    this.#client.addEventListener("message", (event) => void this.#guard(() => this.#onClient(event.data)));
    this.#client.addEventListener("close", (event) => {
      // A subscriber that closes normally (1000) has acked what it finished: the rest comes back at once.
      // One that vanished (1006, a killed process) leaves its messages to come back when their leases end.
      if (event.code === 1000) void this.#guard(() => this.#releaseAll());
      this.#close(1000, "subscriber left");
    });
    this.#client.addEventListener("error", () => this.#close(1011, "subscriber socket failed"));
    for (const link of this.#links) {
      link.socket.addEventListener("message", (event) => {
        // Messages are opened as they arrive, side by side, and forwarded in arrival order.
        const frame = JSON.parse(typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data)) as PartitionFrame;
        const opening = frame.type === "messages" ? this.#open(link, frame.messages) : null;
        this.#chain = this.#chain.then(() => this.#guard(() => this.#onPartition(link, frame, opening)));
      });
      link.socket.addEventListener("close", () => this.#close(1012, "a partition went away; reconnect"));
      link.socket.addEventListener("error", () => this.#close(1012, "a partition went away; reconnect"));
    }
    this.#distribute();
    // A partition holding no credit but messages says so when it hears from us.
    for (const link of this.#links) if (link.held === 0) this.#tell(link, { type: "credit", add: 0 });
  }

  /** Opens the messages of one lease and gives each its receipt handle (one that does not open is logged and left out; its credit comes back). */
  #open(link: Link, wire: WireLeased[]): Promise<{ count: number; messages: { message: ReceivedMessage; lease: LeaseRef }[] }> {
    link.held = Math.max(0, link.held - wire.length);
    this.#opening += wire.length;
    const { config, env, queue } = this.#context;
    return openReceived(env, config, queue, wire.map((message) => ({ partition: link.index, message: fromWire(message) })))
      .then((opened) => Promise.all(opened.map(async ({ message }) => ({ message: await receivedMessage(config, queue, link.index, message), lease: { seq: message.seq, lease: message.receiveCount } }))))
      .then((messages) => ({ count: wire.length, messages }), (error: unknown) => {
        this.#opening -= wire.length;
        throw error;
      });
  }

  async #onPartition(link: Link, frame: PartitionFrame, opening: Promise<{ count: number; messages: { message: ReceivedMessage; lease: LeaseRef }[] }> | null): Promise<void> {
    if (frame.type === "ready") {
      link.ready = true;
    } else if (frame.type === "idle") {
      // Its credit found nothing: ask the partitions holding none whether they have messages (they answer `ready`).
      for (const other of this.#links) if (other !== link && other.held === 0 && !other.ready) this.#tell(other, { type: "credit", add: 0 });
    } else if (frame.type === "returned") {
      link.held = Math.max(0, link.held - frame.credit);
      link.revoking = false;
    } else if (frame.type === "refused") {
      this.#close(frame.code === "QueueDoesNotExist" ? 4404 : 1011, frame.code);
      return;
    } else if (opening) {
      const { count, messages } = await opening;
      this.#opening -= count;
      for (const { message, lease } of this.#closed ? [] : messages) {
        this.#inFlight.set(message.receiptHandle, Date.now() + this.#context.visibilityTimeout * 1000);
        this.#remember(message.receiptHandle, { link, lease });
        this.#send({ type: "message", message: message as unknown as Extract<ServerFrame, { type: "message" }>["message"] });
      }
      this.#arm();
    }
    this.#distribute();
  }

  async #onClient(data: string | ArrayBuffer): Promise<void> {
    if (typeof data !== "string") return this.#error({ code: "InvalidFrame", field: "frame", value: "binary" });
    if (data.length > MAX_CLIENT_FRAME_BYTES || encoder.encode(data).length > MAX_CLIENT_FRAME_BYTES) return this.#error({ code: "FrameTooLarge", field: "frame", bound: MAX_CLIENT_FRAME_BYTES, value: encoder.encode(data).length });
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return this.#error({ code: "InvalidFrame", field: "frame", value: null });
    }
    if (typeof frame !== "object" || frame === null || Array.isArray(frame)) return this.#error({ code: "InvalidFrame", field: "frame", value: null });
    switch (frame.type) {
      case "credit": return this.#credit(frame.add);
      case "ack": return this.#settle(frame, "ack");
      case "nack": return this.#settle(frame, "nack");
      case "extend": return this.#settle(frame, "extend");
      case "drain": return this.#drain();
      default: return this.#error({ code: "UnknownFrameType", field: "type", value: typeof frame.type === "string" ? frame.type.slice(0, 100) : null });
    }
  }

  /** No more pushes: take back every partition's credit, then say `drained` (see #distribute). */
  #drain(): void {
    this.#draining = true;
    for (const link of this.#links) {
      if (link.held === 0 || link.revoking) continue;
      link.revoking = true;
      this.#tell(link, { type: "revoke" });
    }
    this.#distribute();
  }

  #credit(add: unknown): void {
    if (typeof add !== "number" || !Number.isSafeInteger(add) || add < 1) return this.#error({ code: "InvalidParameterValue", field: "add", bound: [1, MAX_PUSH_CREDITS], value: typeof add === "number" ? add : null });
    if (this.#credits + add > MAX_PUSH_CREDITS) return this.#error({ code: "CreditOverflow", field: "add", bound: MAX_PUSH_CREDITS, value: this.#credits + add });
    this.#credits += add;
    this.#distribute();
  }

  /** ack deletes; nack makes visible again after delaySeconds (default at once); extend renews the lease. */
  async #settle(frame: Record<string, unknown>, kind: "ack" | "nack" | "extend"): Promise<void> {
    const handles = frame.receiptHandles;
    if (!Array.isArray(handles) || handles.length < 1 || handles.length > MAX_FRAME_HANDLES || !handles.every((h) => typeof h === "string")) {
      return this.#error({ code: "InvalidParameterValue", field: "receiptHandles", bound: [1, MAX_FRAME_HANDLES], value: Array.isArray(handles) ? handles.length : null });
    }
    const field = kind === "nack" ? "delaySeconds" : "visibilityTimeout";
    const seconds = kind === "nack" ? (frame.delaySeconds ?? 0) : kind === "extend" ? frame.visibilityTimeout : 0;
    if (typeof seconds !== "number" || !Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_TIMEOUT) {
      return this.#error({ code: "InvalidParameterValue", field, bound: [0, MAX_VISIBILITY_TIMEOUT], value: typeof seconds === "number" ? seconds : null });
    }
    const unknown = (handles as string[]).filter((h) => !this.#issued.has(h));
    if (unknown.length > 0) this.#error({ code: "UnknownReceiptHandle", field: "receiptHandles", value: unknown.length }, unknown);
    const known = [...new Set((handles as string[]).filter((h) => this.#issued.has(h)))];
    if (known.length === 0) return;
    if (kind !== "extend") {
      for (const handle of known) this.#inFlight.delete(handle);
      if (kind === "ack") for (const handle of known) {
        const { link, lease } = this.#issued.get(handle)!;
        link.acks.push(lease);
      }
      this.#distribute(); // the credit is free as soon as the subscriber is done with the message
      if (kind === "ack") return this.#flushAcks();
    }
    const { messages, queue } = this.#context;
    for (let i = 0; i < known.length; i += 10) {
      const chunk = known.slice(i, i + 10);
      const { failed } = await messages.changeVisibility(queue.name, chunk.map((receiptHandle) => ({ receiptHandle, visibilityTimeout: seconds })));
      const refused = new Set(failed.map(({ index }) => index));
      for (const { index, problem } of failed) this.#send({ type: "error", code: problem.code, message: this.#context.render(problem), receiptHandles: [chunk[index]!] });
      if (kind === "extend") {
        chunk.forEach((handle, j) => {
          if (!refused.has(j) && this.#inFlight.has(handle)) this.#inFlight.set(handle, Date.now() + seconds * 1000);
        });
        this.#arm();
      }
    }
  }

  /**
   * Acks go to their partition over its socket: with the credit they free
   * when #distribute hands it to that partition (one frame, so the partition
   * deletes them and leases for the credit in one commit), else alone, now.
   */
  #flushAcks(): void {
    for (const link of this.#links) {
      if (link.acks.length > 0) this.#tell(link, { type: "credit", add: 0, acks: link.acks.splice(0) });
    }
  }

  async #releaseAll(): Promise<void> {
    const handles = [...this.#inFlight.keys()];
    this.#inFlight.clear();
    const { messages, queue } = this.#context;
    for (let i = 0; i < handles.length; i += 10) await messages.changeVisibility(queue.name, handles.slice(i, i + 10).map((receiptHandle) => ({ receiptHandle, visibilityTimeout: 0 })));
  }

  /** Hands free credit to the partitions that asked (else to all), or takes back idle credit for a partition that asked. */
  #distribute(): void {
    if (this.#closed) return;
    let held = 0;
    for (const link of this.#links) held += link.held;
    if (this.#draining) {
      if (held === 0 && this.#opening === 0 && !this.#drainedSent) {
        this.#drainedSent = true;
        this.#send({ type: "drained" });
      }
      return;
    }
    let free = this.#credits - this.#inFlight.size - this.#opening - held;
    const ready = this.#links.filter((link) => link.ready);
    if (free <= 0) {
      if (ready.some((link) => link.held === 0)) {
        for (const link of this.#links) {
          if (link.ready || link.held === 0 || link.revoking) continue;
          link.revoking = true;
          this.#tell(link, { type: "revoke" });
        }
      }
      return;
    }
    const targets = ready.length > 0 ? ready : this.#links;
    for (const [i, link] of targets.entries()) {
      const share = Math.ceil(free / (targets.length - i));
      free -= share;
      link.ready = false;
      if (share === 0) continue;
      link.held += share;
      this.#tell(link, { type: "credit", add: share, ...(link.acks.length > 0 ? { acks: link.acks.splice(0) } : {}) });
    }
  }

  /** Frees the credit of leases that ended unacknowledged (the message may go to another subscriber now). */
  #arm(): void {
    clearTimeout(this.#timer);
    if (this.#closed || this.#inFlight.size === 0) return;
    const next = Math.min(...this.#inFlight.values());
    this.#timer = setTimeout(() => {
      const now = Date.now();
      for (const [handle, until] of this.#inFlight) if (until <= now) this.#inFlight.delete(handle);
      this.#distribute();
      this.#arm();
    }, Math.max(0, next - Date.now()) + 5);
  }

  #remember(handle: string, target: { link: Link; lease: LeaseRef }): void {
    if (this.#issued.size >= MAX_ISSUED) this.#issued.delete(this.#issued.keys().next().value!);
    this.#issued.set(handle, target);
  }

  /** Runs a frame's work; a refusal becomes an error frame, a bug is logged and answered, never a closed socket. */
  async #guard(work: () => Promise<void> | void): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (error instanceof Refusal) return this.#send({ type: "error", code: error.problem.code, message: this.#context.render(error.problem) });
      console.error(JSON.stringify({ level: "error", event: "push-frame-failed", queue: this.#context.queue.name, error: String(error), stack: (error as Error)?.stack }));
      this.#send({ type: "error", code: "ServiceUnavailable", message: "the frame could not be handled; try again" });
    }
  }

  #error(problem: FrameProblem, receiptHandles?: string[]): void {
    this.#send({ type: "error", code: problem.code, message: this.#context.render(problem), ...(receiptHandles ? { receiptHandles } : {}) });
  }

  #send(frame: ServerFrame): void {
    if (this.#closed) return;
    try {
      this.#client.send(JSON.stringify(frame));
    } catch {
      this.#close(1011, "subscriber socket failed");
    }
  }

  #tell(link: Link, frame: RelayFrame): void {
    try {
      link.socket.send(JSON.stringify(frame));
    } catch {
      this.#close(1012, "a partition went away; reconnect");
    }
  }

  /** Ends the subscription: unacknowledged messages come back when their leases end. */
  #close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#drainCheck);
    clearTimeout(this.#timer);
    for (const link of this.#links) close(link.socket, 1000, "subscriber left");
    close(this.#client, code, reason);
  }
}

function close(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason.slice(0, 120));
  } catch {
    // already closed
  }
}

function fromWire(wire: WireLeased): LeasedMessage {
  const { body, body64, ...rest } = wire;
  if (body64 === undefined) return { ...rest, body: body ?? "" };
  // The runtime's native codec where it has one (workerd does); atob otherwise.
  const native = (Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array }).fromBase64;
  if (native) return { ...rest, body: native(body64) };
  const binary = atob(body64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return { ...rest, body: bytes };
}
