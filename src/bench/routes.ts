// HTTP for the bench baseline (/_bench/baseline/:name/send|receive|delete) in
// the bench build only (src/bench/worker.ts). It depends on nothing in
// src/worker, so the edgeq Worker can change freely underneath it, and it
// still answers only development-mode loopback requests, like the dev
// credentials, in case a bench build is ever served somewhere it should not be.
const PREFIX = "/_bench/baseline/";

export function isBaselinePath(pathname: string): boolean {
  return pathname.startsWith(PREFIX);
}

export async function handleBaseline(request: Request, env: BenchEnv): Promise<Response> {
  const url = new URL(request.url);
  if (env.EDGEQ_DEV_MODE !== "true" || !/^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname)) return error(404, "NotFound", "no such route");
  const [name, action, extra] = url.pathname.slice(PREFIX.length).split("/");
  if (!name || extra !== undefined || request.method !== "POST") return error(404, "NotFound", "POST /_bench/baseline/:name/send|receive|delete");
  const input = await jsonObject(request);
  if (!input) return error(400, "MalformedRequest", "the bench baseline takes a JSON object");
  const stub = env.BASELINE.get(env.BASELINE.idFromName(name));
  switch (action) {
    case "send": {
      const { bodies } = input;
      if (!Array.isArray(bodies) || !bodies.every((b) => typeof b === "string")) return error(400, "InvalidParameterValue", "bodies must be an array of strings");
      return Response.json({ seqs: await stub.send(bodies) });
    }
    case "receive": {
      const { maxMessages, visibilityTimeout } = input;
      if (!Number.isInteger(maxMessages) || !Number.isInteger(visibilityTimeout)) return error(400, "InvalidParameterValue", "maxMessages and visibilityTimeout must be integers");
      return Response.json({ messages: await stub.receive(maxMessages as number, (visibilityTimeout as number) * 1000) });
    }
    case "delete": {
      const { seqs } = input;
      if (!Array.isArray(seqs) || !seqs.every(Number.isInteger)) return error(400, "InvalidParameterValue", "seqs must be an array of integers");
      return Response.json({ deleted: await stub.delete(seqs) });
    }
    default:
      return error(404, "NotFound", "POST /_bench/baseline/:name/send|receive|delete");
  }
}

/** Trusted bench traffic only, but a malformed body is still a 400, never a 500. */
async function jsonObject(request: Request): Promise<Record<string, unknown> | null> {
  try {
    const parsed: unknown = await request.json();
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function error(status: number, code: string, message: string): Response {
  return Response.json({ error: { code, message } }, { status });
}
