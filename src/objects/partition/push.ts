// WebSocket subscribers of one partition (push delivery). The Worker opens
// one socket per subscriber to each partition of the queue and relays it
// (src/core/push.ts opens what this sends and answers the subscriber); here
// the socket is accepted with the Hibernation API, so an idle subscription
// keeps no object in memory. What a socket may still be pushed (its credit,
// granted by the Worker) lives in its attachment and survives hibernation.
// Every push leases through the very receive command a long poll runs
// (`lease` via Partition.run), so the in-flight limit, FIFO group order and
// dead-lettering after maxReceiveCount apply to pushes as to receives, and
// no message is leased to two sockets: the object leases one command at a time.
import { MAX_BATCH_ENTRIES } from "../../shared/limits.js";
import { MAX_RELAY_ACKS, type PartitionFrame, type RelayFrame, type WireLeased } from "../../shared/push.js";
import type { LeasedMessage, LeaseRef, Result } from "../../shared/types.js";
import type { CommandResult, PartitionCommand, PartitionRef } from "./contract.js";

const TAG = "push";

interface Attachment {
  incarnation: number;
  visibilityTimeout: number;
  maxInFlight: number;
  /** Messages this socket may still be pushed. */
  credit: number;
  /** Bumped by each revoke, so credit a lease in progress did not use is handed back, not kept. */
  generation: number;
  /** It holds credit it found nothing for, and has said so (`idle`). */
  idle?: boolean;
}

export interface PushHost {
  ctx: DurableObjectState;
  run(commands: PartitionCommand[]): Promise<CommandResult[]>;
  /** Refuses a request for another life of the queue (as every call does). */
  admit(ref: PartitionRef): { ok: false; code: string } | null;
  /** True when some message could be leased now. */
  hasVisible(): boolean;
  /** The queue is FIFO: a group's messages must reach one subscriber, in order. */
  fifo(): boolean;
}

/** A socket's part in a round: the credit it reserved. */
interface Ask {
  ws: WebSocket;
  before: Attachment;
  take: number;
}

/** Messages one shared receive takes at most (its sockets' credit, up to 10 each). */
const MAX_SHARED_LEASE = 100;

export class PushSubscribers {
  readonly #host: PushHost;
  /** Pumps running (see pump). */
  #active = 0;
  #turn = 0;
  /** Acked leases from the Worker, per incarnation, deleted in the next round's commit (see frame). */
  #acks = new Map<number, LeaseRef[]>();

  constructor(host: PushHost) {
    this.#host = host;
  }

  /** Subscribers connected: like long-pollers, they need the alarm at the next lease expiry. */
  get count(): number {
    return this.#host.ctx.getWebSockets(TAG).length;
  }

  /** The Worker's upgrade request: `?incarnation=&visibilityTimeout=&maxInFlight=`. */
  accept(request: Request): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") return new Response("expected a WebSocket upgrade", { status: 426 });
    const query = new URL(request.url).searchParams;
    const attachment: Attachment = {
      incarnation: Number(query.get("incarnation")),
      visibilityTimeout: Number(query.get("visibilityTimeout")),
      maxInFlight: Number(query.get("maxInFlight")),
      credit: 0,
      generation: 0,
    };
    const refused = this.#host.admit({ incarnation: attachment.incarnation });
    if (refused) return Response.json(refused, { status: 409 });
    const { 0: client, 1: server } = new WebSocketPair();
    this.#host.ctx.acceptWebSocket(server, [TAG]);
    server.serializeAttachment(attachment);
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Starts a pump from a wake-up; a failure is logged, and the next wake-up or credit tries again. */
  wake(): void {
    this.pump().catch((error: unknown) => console.error(JSON.stringify({ level: "error", event: "push-failed", partition: this.#host.ctx.id.name, error: String(error) })));
  }

  /** The Worker closed its end (its subscriber went away): close ours; its leases come back at expiry. */
  closed(ws: WebSocket, code: number): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
    } catch {
      // already closed
    }
  }

  /** A frame from the Worker: credit to use, or a revoke of all it holds. */
  frame(ws: WebSocket, data: string | ArrayBuffer): void {
    let frame: RelayFrame;
    try {
      frame = JSON.parse(typeof data === "string" ? data : new TextDecoder().decode(data)) as RelayFrame;
    } catch {
      return; // the Worker is the only peer; a frame it did not write is ignored
    }
    const attachment = ws.deserializeAttachment() as Attachment;
    // Credit 0 is a poke: a socket without credit hears `ready` if messages wait here.
    if (frame.type === "credit" && Number.isSafeInteger(frame.add) && frame.add >= 0) {
      const acks = Array.isArray(frame.acks) ? frame.acks.slice(0, MAX_RELAY_ACKS).filter((a) => Number.isSafeInteger(a?.seq) && Number.isSafeInteger(a?.lease)) : [];
      if (acks.length > 0) {
        const pending = this.#acks.get(attachment.incarnation) ?? [];
        this.#acks.set(attachment.incarnation, pending);
        for (const { seq, lease } of acks) pending.push({ seq, lease });
      }
      ws.serializeAttachment({ ...attachment, credit: attachment.credit + frame.add, idle: frame.add > 0 ? false : attachment.idle });
      // Not awaited: the next frames (more credit) are taken while this round commits, and join the next round.
      this.wake();
    } else if (frame.type === "revoke") {
      ws.serializeAttachment({ ...attachment, credit: 0, generation: attachment.generation + 1 });
      send(ws, { type: "returned", credit: attachment.credit });
    }
  }

  /**
   * Pushes to every socket with credit, a batch per socket in turn so that
   * subscribers share the load, until credit or visible messages run out;
   * then tells the sockets without credit that messages are waiting. Called
   * whenever long-pollers are woken (a send, a release, the alarm) and when
   * credit arrives. Pumps do not wait for each other: a round reserves its
   * sockets' credit before it leases, so a round started while another's
   * commit is on its way to disk joins the next commit instead of waiting a
   * commit more (the object still leases one command at a time).
   */
  async pump(): Promise<void> {
    this.#active++;
    try {
      const sockets = this.#host.ctx.getWebSockets(TAG);
      const start = this.#turn++ % Math.max(1, sockets.length);
      const order = [...sockets.slice(start), ...sockets.slice(0, start)];
      while (await this.#round(order));
      // Only the last pump out speaks: credit another pump reserved is not missing.
      if (this.#active === 1 && order.length > 0 && this.#host.hasVisible()) {
        for (const ws of order) if ((ws.deserializeAttachment() as Attachment).credit === 0) send(ws, { type: "ready" });
      }
    } finally {
      this.#active--;
    }
  }

  /**
   * One lease for every socket with credit, all in one call (one commit):
   * true if some socket got all it asked for (there may be more). On a
   * standard queue the sockets that lease alike share one receive command
   * (one index read for the round, not one per socket) and its messages are
   * dealt out in turn; on a FIFO queue each socket leases on its own, so a
   * group's messages go to one subscriber in order.
   */
  async #round(order: WebSocket[]): Promise<boolean> {
    const asks: Ask[] = [];
    for (const ws of order) {
      const before = ws.deserializeAttachment() as Attachment | null;
      if (!before || before.credit <= 0 || ws.readyState !== WebSocket.OPEN) continue;
      const take = Math.min(before.credit, MAX_BATCH_ENTRIES);
      ws.serializeAttachment({ ...before, credit: before.credit - take });
      asks.push({ ws, before, take });
    }
    // The acks that came in since the last round are deleted first, in the same commit as the leases.
    const deletes = [...this.#acks].map(([incarnation, leases]): PartitionCommand => ({ kind: "delete", ref: { incarnation }, leases }));
    this.#acks.clear();
    if (asks.length === 0) {
      if (deletes.length > 0) await this.#host.run(deletes);
      return false;
    }
    const groups = this.#host.fifo() ? asks.map((ask) => [ask]) : alike(asks);
    const leases = groups.map((group): PartitionCommand => {
      const { incarnation, visibilityTimeout, maxInFlight } = group[0]!.before;
      const maxMessages = group.reduce((sum, ask) => sum + ask.take, 0);
      return { kind: "receive", ref: { incarnation }, options: { maxMessages, visibilityTimeout, maxInFlight, overLimit: "empty", push: true } };
    });
    const results = (await this.#host.run([...deletes, ...leases])).slice(deletes.length) as Result<{ messages: LeasedMessage[] }>[];
    let more = false;
    for (const [i, group] of groups.entries()) {
      const result = results[i]!;
      const shares = deal(result.ok ? result.messages : [], group.map((ask) => ask.take));
      for (const [j, ask] of group.entries()) {
        if (!result.ok) send(ask.ws, { type: "refused", code: result.code });
        if ((await this.#deliver(ask, shares[j]!)) && result.ok) more = true;
      }
    }
    return more;
  }

  /** Pushes one socket its share of a lease and settles its credit: true if it got all it asked for. */
  async #deliver({ ws, before, take }: Ask, messages: LeasedMessage[]): Promise<boolean> {
    if (ws.readyState !== WebSocket.OPEN) {
      await this.#release({ incarnation: before.incarnation }, messages);
      return false;
    }
    const after = ws.deserializeAttachment() as Attachment;
    const unused = take - messages.length;
    if (messages.length > 0) send(ws, { type: "messages", messages: messages.map(toWire) }); // one frame per lease
    if (after.generation === before.generation) {
      ws.serializeAttachment({ ...after, credit: after.credit + unused, idle: unused > 0 });
      if (unused > 0 && !after.idle) send(ws, { type: "idle" }); // once, until credit comes again
    } else if (unused > 0) send(ws, { type: "returned", credit: unused });
    return unused === 0;
  }

  /** Leases taken for a socket that closed meanwhile come back at once. */
  async #release(ref: PartitionRef, messages: LeasedMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const entries = messages.map((m): LeaseRef & { visibilityTimeout: number } => ({ seq: m.seq, lease: m.receiveCount, visibilityTimeout: 0 }));
    await this.#host.run([{ kind: "visibility", ref, entries }]);
  }
}

/** Asks that lease with the same settings, in groups taking at most MAX_SHARED_LEASE, order kept. */
function alike(asks: Ask[]): Ask[][] {
  const groups = new Map<string, Ask[][]>();
  const ordered: Ask[][] = [];
  for (const ask of asks) {
    const { incarnation, visibilityTimeout, maxInFlight } = ask.before;
    const key = `${incarnation}/${visibilityTimeout}/${maxInFlight}`;
    const chunks = groups.get(key) ?? [];
    groups.set(key, chunks);
    let last = chunks.at(-1);
    if (!last || last.reduce((sum, a) => sum + a.take, 0) + ask.take > MAX_SHARED_LEASE) {
      chunks.push((last = []));
      ordered.push(last);
    }
    last.push(ask);
  }
  return ordered;
}

/** Deals `messages` out one at a time, in turn, to askers wanting `takes` each. */
function deal(messages: LeasedMessage[], takes: number[]): LeasedMessage[][] {
  const shares = takes.map((): LeasedMessage[] => []);
  let next = 0;
  for (const message of messages) {
    while (shares[next]!.length >= takes[next]!) next = (next + 1) % takes.length;
    shares[next]!.push(message);
    next = (next + 1) % takes.length;
  }
  return shares;
}

function send(ws: WebSocket, frame: PartitionFrame): void {
  try {
    ws.send(JSON.stringify(frame));
  } catch {
    // Closed under us: its leases come back at expiry, as the protocol says.
  }
}

function toWire(message: LeasedMessage): WireLeased {
  const { body, ...rest } = message;
  if (typeof body === "string") return { ...rest, body };
  const bytes = body instanceof Uint8Array ? body : new Uint8Array(body);
  // The runtime's native codec where it has one (workerd does); the loop below otherwise.
  const native = (bytes as Uint8Array & { toBase64?: () => string }).toBase64;
  if (native) return { ...rest, body64: native.call(bytes) };
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { ...rest, body64: btoa(binary) };
}
