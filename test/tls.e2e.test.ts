// HTTPS on the self-hosted server (--tls-cert/--tls-key, tls_cert/tls_key in
// edgeq.toml) with a test CA made here: the fetch SDK and the edgeq CLI
// (trusting it through NODE_EXTRA_CA_CERTS), AWS SDK v3 (an https.Agent with
// the CA), boto3 and the aws CLI (AWS_CA_BUNDLE) create, send, receive and
// delete over TLS, and QueueUrls say https. A new certificate is picked up
// from the files without dropping an open connection, which keeps the one
// it was made with; SIGHUP re-reads, and a pair that does not load leaves
// the certificate in force. `npm run test:tls` runs whole client suites over
// TLS as well (test/tls/run.mjs).
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import type { TLSSocket } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_KEY_ID, DEV_SECRET, startServer, type RunningServer } from "./helpers/server.js";
import { issueCert, makeTestCa, type TestCa } from "./helpers/tls.js";
import { AWS_CLI, awsEnv, BOTO3, requireTool } from "./helpers/tools.js";

const run = promisify(execFile);
const BIN = join(process.cwd(), "dist/cli/edgeq.js");
let ca: TestCa;
let live: { certFile: string; keyFile: string };
let server: RunningServer;
const servers: RunningServer[] = [];

beforeAll(async () => {
  execFileSync(process.execPath, ["scripts/build.mjs", "--no-types"], { stdio: "inherit" });
  ca = makeTestCa();
  const first = issueCert(ca, "first");
  // The server reads the files at these paths; the reload tests overwrite them.
  live = { certFile: join(ca.dir, "live.pem"), keyFile: join(ca.dir, "live.key") };
  copyFileSync(first.certFile, live.certFile);
  copyFileSync(first.keyFile, live.keyFile);
  server = await startServer({ tls: { ...live, ca: ca.ca } });
  servers.push(server);
});

afterAll(async () => {
  for (const each of servers) await each.stop();
});

/** GET /healthz through `agent`: the status, the certificate's CN and whether the agent reused its connection. */
function get(url: string, agent: Agent): Promise<{ status: number; cn: string; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/healthz`, { agent }, (response) => {
      const cn = String((response.socket as TLSSocket).getPeerCertificate().subject.CN);
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode!, cn, reused: req.reusedSocket }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A REST call through `agent`: the status, the certificate's CN, whether the connection was reused, the JSON answer. */
function call(url: string, agent: Agent, method: string, path: string, body: unknown): Promise<{ status: number; cn: string; reused: boolean; json: any }> {
  return new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${DEV_SECRET}`, "content-type": "application/json" };
    const req = request(`${url}${path}`, { agent, method, headers }, (response) => {
      const cn = String((response.socket as TLSSocket).getPeerCertificate().subject.CN);
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode!, cn, reused: req.reusedSocket, json: JSON.parse(text) }));
    });
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

function longPoll(url: string, agent: Agent, queue: string): Promise<{ status: number; cn: string; reused: boolean; messages: unknown[] }> {
  return call(url, agent, "POST", `/v1/queues/${queue}/messages/receive`, { waitSeconds: 20 }).then(({ json, ...rest }) => ({ ...rest, messages: json.messages }));
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe("HTTPS from edgeq serve", () => {
  it("prints an https URL, and does not answer plain HTTP on that port", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await expect(fetch(server.url.replace("https:", "http:") + "/healthz")).rejects.toThrow();
  });

  it("the fetch SDK and the edgeq CLI, trusting the CA through NODE_EXTRA_CA_CERTS", async () => {
    const env = { PATH: process.env.PATH!, HOME: ca.dir, NODE_EXTRA_CA_CERTS: ca.caFile, EDGEQ_ENDPOINT: server.url, EDGEQ_SECRET: DEV_SECRET };
    const script = `
      import { EdgeQ } from ${JSON.stringify(join(process.cwd(), "dist/sdk/index.js"))};
      const edgeq = new EdgeQ({ endpoint: process.env.EDGEQ_ENDPOINT, secret: process.env.EDGEQ_SECRET });
      const queue = await edgeq.createQueue("tls-sdk");
      await queue.send("over tls");
      const [message] = await queue.receive({ maxMessages: 1 });
      console.log(JSON.stringify({ body: message.body, deleted: await queue.delete(message) }));`;
    const sdk = await run(process.execPath, ["--input-type=module", "-e", script], { env });
    expect(JSON.parse(sdk.stdout)).toEqual({ body: "over tls", deleted: true });

    await run(process.execPath, [BIN, "queues", "create", "tls-cli"], { env });
    await run(process.execPath, [BIN, "send", "tls-cli", "from the cli"], { env });
    const received = await run(process.execPath, [BIN, "receive", "tls-cli", "--json"], { env });
    expect(received.stdout).toContain("from the cli");
    // Without the CA the same command refuses the certificate.
    const untrusted = await run(process.execPath, [BIN, "queues", "list"], { env: { ...env, NODE_EXTRA_CA_CERTS: "" } }).then(() => null, (error: { stderr: string }) => error.stderr);
    expect(untrusted).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE: the server's TLS certificate is not trusted here; for a private CA, set NODE_EXTRA_CA_CERTS/);
  });

  it("AWS SDK v3 over https: QueueUrls say https, and requests go to them", async () => {
    const sqs = new SQSClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: { accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET },
      maxAttempts: 1,
      requestHandler: { httpsAgent: new Agent({ ca: ca.ca }) },
    });
    try {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "tls-aws-sdk" }));
      expect(QueueUrl).toBe(`${server.url}/000000000000/tls-aws-sdk`);
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "aws over tls" }));
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 1 }));
      expect(Messages?.map((message) => message.Body)).toEqual(["aws over tls"]);
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages![0]!.ReceiptHandle }));
    } finally {
      sqs.destroy();
    }
  });

  it("boto3 and the aws CLI, trusting the CA through AWS_CA_BUNDLE", async ({ skip }) => {
    const env = { ...awsEnv(), AWS_CA_BUNDLE: ca.caFile };
    const python = await requireTool(BOTO3, skip, env);
    const script = `
import json, sys, boto3
sqs = boto3.client("sqs", endpoint_url=sys.argv[1], region_name="us-east-1")
url = sqs.create_queue(QueueName="tls-boto3")["QueueUrl"]
sqs.send_message(QueueUrl=url, MessageBody="boto3 over tls")
got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
print(json.dumps({"url": url, "body": got["Body"]}))`;
    const boto = await run(python, ["-c", script, server.url], { env, timeout: 60_000 });
    expect(JSON.parse(boto.stdout.trim().split("\n").at(-1)!)).toEqual({ url: `${server.url}/000000000000/tls-boto3`, body: "boto3 over tls" });

    const aws = await requireTool(AWS_CLI, skip, env);
    const created = await run(aws, ["sqs", "create-queue", "--queue-name", "tls-awscli", "--endpoint-url", server.url, "--output", "json"], { env, timeout: 60_000 });
    const url = JSON.parse(created.stdout).QueueUrl;
    expect(url).toBe(`${server.url}/000000000000/tls-awscli`);
    await run(aws, ["sqs", "send-message", "--queue-url", url, "--message-body", "aws cli over tls", "--endpoint-url", server.url], { env, timeout: 60_000 });
    const received = await run(aws, ["sqs", "receive-message", "--queue-url", url, "--endpoint-url", server.url, "--output", "json"], { env, timeout: 60_000 });
    expect(JSON.parse(received.stdout).Messages[0].Body).toBe("aws cli over tls");
  });

  it("a new certificate in the files is served to new connections; an open connection, with a long poll in flight, keeps its own and is not dropped", async () => {
    const kept = new Agent({ ca: ca.ca, keepAlive: true, maxSockets: 1 });
    const before = await get(server.url, kept);
    expect(before).toMatchObject({ status: 200, cn: "first" });
    // A long poll (up to 20 s) of an empty queue in flight on the kept connection while the certificate changes.
    const polling = longPoll(server.url, kept, "tls-sdk");
    let settled = false;
    void polling.finally(() => (settled = true));
    const second = issueCert(ca, "second");
    copyFileSync(second.keyFile, live.keyFile);
    copyFileSync(second.certFile, live.certFile);
    const fresh = await until(() => get(server.url, new Agent({ ca: ca.ca })), (result) => result.cn === "second");
    expect(fresh).toMatchObject({ status: 200, cn: "second" });
    expect(server.output()).toContain("loaded a new TLS certificate");

    expect(settled).toBe(false);
    // A send ends the long poll with the message, on the connection made under the first certificate.
    const sent = await call(server.url, new Agent({ ca: ca.ca }), "POST", "/v1/queues/tls-sdk/messages", { messages: [{ body: "after the reload" }] });
    expect(sent.status).toBe(200);
    const poll = await polling;
    expect(poll).toMatchObject({ status: 200, cn: "first", reused: true });
    expect(poll.messages).toEqual([expect.objectContaining({ body: "after the reload" })]);
    const after = await get(server.url, kept);
    expect(after).toEqual({ status: 200, cn: "first", reused: true });
    kept.destroy();
  });

  it("SIGHUP re-reads the files; a certificate whose key does not match leaves the one in force", async () => {
    const third = issueCert(ca, "third");
    const other = issueCert(ca, "other");
    copyFileSync(third.certFile, live.certFile);
    copyFileSync(other.keyFile, live.keyFile); // not third's key
    process.kill(server.child.pid!, "SIGHUP"); // the server process only: its workerd child keeps running
    await until(async () => server.output(), (output) => output.includes("SIGHUP: kept the TLS certificate in force"));
    expect(server.output()).toContain("SIGHUP: kept the TLS certificate in force");
    expect(await get(server.url, new Agent({ ca: ca.ca }))).toMatchObject({ status: 200, cn: "second" });

    copyFileSync(third.keyFile, live.keyFile);
    process.kill(server.child.pid!, "SIGHUP");
    const now = await until(() => get(server.url, new Agent({ ca: ca.ca })), (result) => result.cn === "third");
    expect(now).toMatchObject({ status: 200, cn: "third" });
  });

  it("tls_cert and tls_key in edgeq.toml; one without the other is refused naming both", async () => {
    const cert = issueCert(ca, "config");
    const dir = mkdtempSync(join(tmpdir(), "edgeq-tls-config-"));
    writeFileSync(join(dir, "edgeq.toml"), `tls_cert = ${JSON.stringify(cert.certFile)}\ntls_key = ${JSON.stringify(cert.keyFile)}\n`);
    const configured = await startServer({ tls: false, noWait: true, extraArgs: ["--config", join(dir, "edgeq.toml")] });
    servers.push(configured);
    const line = await until(async () => /edgeq listening on (https:\/\/127\.0\.0\.1:\d+)/.exec(configured.output()), (match) => match !== null);
    expect(line?.[1]).toBe(`https://127.0.0.1:${configured.port}`);
    expect(await get(line![1]!, new Agent({ ca: ca.ca }))).toMatchObject({ status: 200, cn: "config" });

    writeFileSync(join(dir, "half.toml"), `tls_cert = ${JSON.stringify(cert.certFile)}\n`);
    const half = await startServer({ tls: false, noWait: true, extraArgs: ["--config", join(dir, "half.toml")] });
    servers.push(half);
    const code = await new Promise<number | null>((resolve) => half.child.once("exit", resolve));
    expect(code).toBe(2);
    expect(half.output()).toContain("--tls-cert (tls_cert) is set but --tls-key (tls_key) is not");
  });

  it("behind a reverse proxy: X-Forwarded-Proto https makes a plain server's QueueUrls https, and only then", async () => {
    const plain = await startServer({ tls: false });
    servers.push(plain);
    const queueUrl = async (forwardedProto: string | undefined) => {
      const sqs = new SQSClient({ endpoint: plain.url, region: "us-east-1", credentials: { accessKeyId: DEV_KEY_ID, secretAccessKey: DEV_SECRET }, maxAttempts: 1 });
      if (forwardedProto) {
        sqs.middlewareStack.add((next) => async (args) => {
          (args.request as { headers: Record<string, string> }).headers["x-forwarded-proto"] = forwardedProto;
          return next(args);
        }, { step: "build" });
      }
      try {
        return (await sqs.send(new CreateQueueCommand({ QueueName: "tls-proxied" }))).QueueUrl;
      } finally {
        sqs.destroy();
      }
    };
    const address = plain.url.slice("http://".length);
    expect(await queueUrl("https")).toBe(`https://${address}/000000000000/tls-proxied`);
    expect(await queueUrl(undefined)).toBe(`http://${address}/000000000000/tls-proxied`);
    expect(await queueUrl("http")).toBe(`http://${address}/000000000000/tls-proxied`);
  });
});
