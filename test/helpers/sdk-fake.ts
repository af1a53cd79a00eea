// An in-memory stand-in for the REST API, for the SDK's unit tests: a fetch
// function that keeps messages with leases the way the server does, records
// every request, and lets a test inject answers. Long polls wait on a timer
// (abortable), so fake timers drive them.
export interface Recorded {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: any;
  at: number;
}

interface FakeMessage {
  id: string;
  body: string;
  visibleAt: number;
  receiveCount: number;
  lease: number;
}

export class FakeQueueServer {
  readonly requests: Recorded[] = [];
  readonly messages = new Map<string, FakeMessage>();
  /** Answers to give before the normal behaviour, one per request, FIFO. */
  readonly scripted: (Response | Error | ((request: Recorded) => Response | undefined))[] = [];
  #seq = 0;

  add(body: string): string {
    const id = `m${++this.#seq}`;
    this.messages.set(id, { id, body, visibleAt: 0, receiveCount: 0, lease: 0 });
    return id;
  }

  /** The fetch to give the SDK. */
  readonly fetch = (async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input));
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const request: Recorded = { method: init.method ?? "GET", path: url.pathname + url.search, headers, body: init.body ? JSON.parse(String(init.body)) : undefined, at: Date.now() };
    this.requests.push(request);
    const next = this.scripted.shift();
    if (next instanceof Error) throw next;
    if (next instanceof Response) return next;
    const custom = typeof next === "function" ? next(request) : undefined;
    if (custom) return custom;
    return this.#handle(request, init.signal ?? undefined);
  }) as typeof fetch;

  paths(): string[] {
    return this.requests.map((request) => `${request.method} ${request.path}`);
  }

  async #handle(request: Recorded, signal: AbortSignal | undefined): Promise<Response> {
    const route = request.path.replace(/^\/v1\/queues\/[^/]+/, "");
    if (route === "/messages") {
      const successful = request.body.messages.map((message: { body: string }, index: number) => ({ index, id: this.add(message.body), md5OfBody: "x", sentAt: Date.now() }));
      return json({ successful, failed: [] });
    }
    if (route === "/messages/receive") return json({ messages: await this.#receive(request.body, signal) });
    if (route === "/messages/delete") {
      const successful = request.body.receiptHandles.map((handle: string, index: number) => {
        const [id, lease] = handle.split(":");
        const message = this.messages.get(id!);
        const current = message?.lease === Number(lease);
        if (current) this.messages.delete(id!);
        return { index, deleted: current };
      });
      return json({ successful, failed: [] });
    }
    if (route === "/messages/visibility") {
      const successful: { index: number }[] = [];
      const failed: { index: number; code: string; message: string }[] = [];
      request.body.entries.forEach((entry: { receiptHandle: string; visibilityTimeout: number }, index: number) => {
        const [id, lease] = entry.receiptHandle.split(":");
        const message = this.messages.get(id!);
        if (message?.lease === Number(lease) && message.visibleAt > Date.now()) {
          message.visibleAt = Date.now() + entry.visibilityTimeout * 1000;
          successful.push({ index });
        } else failed.push({ index, code: "MessageNotInflight", message: "not in flight" });
      });
      return json({ successful, failed });
    }
    return json({ error: { code: "NotFound", message: `fake has no route ${request.path}` } }, 404);
  }

  async #receive(body: { maxMessages?: number; visibilityTimeout?: number; waitSeconds?: number }, signal: AbortSignal | undefined) {
    const deadline = Date.now() + (body.waitSeconds ?? 0) * 1000;
    for (;;) {
      const now = Date.now();
      const ready = [...this.messages.values()].filter((message) => message.visibleAt <= now).slice(0, body.maxMessages ?? 1);
      if (ready.length > 0 || now >= deadline) {
        return ready.map((message) => {
          message.receiveCount++;
          message.lease = message.receiveCount;
          message.visibleAt = now + (body.visibilityTimeout ?? 30) * 1000;
          return { id: message.id, body: message.body, md5OfBody: "x", receiptHandle: `${message.id}:${message.lease}`, receiveCount: message.receiveCount, sentAt: 0, firstReceivedAt: now, attributes: {} };
        });
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, Math.min(100, deadline - now));
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(signal.reason ?? new DOMException("aborted", "AbortError"));
        }, { once: true });
      });
    }
  }
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

export function errorResponse(code: string, status: number, requestId = "req-1", headers: Record<string, string> = {}): Response {
  return json({ error: { code, message: `${code} happened`, requestId } }, status, { "x-request-id": requestId, ...headers });
}
