// List cursors from the security review (issue 16, item 7): a REST `cursor`
// or SQS `NextToken` used to be the base64 of the last name on the page, so a
// key granted one prefix learnt the names of queues it could not see. They
// are sealed now: opaque, bound to the credential they were issued to.
import { exports } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { rest, uniqueName } from "./helpers/worker-rest.js";

const base64 = (text: string) => btoa(text).replace(/=+$/, "");

/** Two queues under one prefix: the first, in name order, not granted; the second granted. */
async function setUp() {
  const prefix = uniqueName("sec-list");
  const hidden = `${prefix}-a-hidden`;
  const mine = `${prefix}-b-mine`;
  for (const name of [hidden, mine]) expect((await rest("POST", "/v1/queues", { name })).status).toBe(201);
  const key = await rest("POST", "/v1/keys", { grants: [{ queue: `${prefix}-b*`, actions: ["send", "receive"] }] });
  expect(key.status).toBe(201);
  return { prefix, hidden, mine, key: key.body as { id: string; secret: string } };
}

function revealed(cursor: string, name: string): boolean {
  let decoded = "";
  try {
    decoded = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    // not base64 at all
  }
  return cursor.includes(base64(name).slice(0, 8)) || decoded.includes(name);
}

describe("list cursors", () => {
  it("REST: a page that ends on an ungranted queue gives a cursor that does not name it, and that still pages", async () => {
    const { prefix, hidden, mine, key } = await setUp();
    const as = { authorization: `Bearer ${key.secret}` };
    const first = await rest("GET", `/v1/queues?prefix=${prefix}&limit=1`, undefined, as);
    expect(first.status).toBe(200);
    expect(first.body.queues).toEqual([]);
    const cursor = first.body.cursor as string;
    expect(cursor).toEqual(expect.any(String));
    expect(revealed(cursor, hidden)).toBe(false);
    const second = await rest("GET", `/v1/queues?prefix=${prefix}&limit=1&cursor=${cursor}`, undefined, as);
    expect(second.body.queues.map((queue: { name: string }) => queue.name)).toEqual([mine]);

    // A cursor made up from a name, or another credential's cursor, is refused.
    const forged = await rest("GET", `/v1/queues?prefix=${prefix}&limit=1&cursor=${base64(hidden)}`, undefined, as);
    expect(forged).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("cursor") } } });
    const adminCursor = (await rest("GET", `/v1/queues?prefix=${prefix}&limit=1`)).body.cursor as string;
    expect((await rest("GET", `/v1/queues?prefix=${prefix}&limit=1&cursor=${adminCursor}`, undefined, as)).status).toBe(400);
  });

  it("SQS: ListQueues' NextToken does not name the ungranted queue either", async () => {
    const { prefix, hidden, mine, key } = await setUp();
    const aws = new AwsClient({ accessKeyId: key.id, secretAccessKey: key.secret, service: "sqs", region: "us-east-1" });
    const list = async (input: object) => {
      const request = await aws.sign("http://localhost/", { method: "POST", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" }, body: JSON.stringify(input) });
      const response = await exports.default.fetch(request);
      return { status: response.status, body: await response.json() as Record<string, any> };
    };
    const first = await list({ QueueNamePrefix: prefix, MaxResults: 1 });
    expect(first.status).toBe(200);
    const token = first.body.NextToken as string;
    expect(token).toEqual(expect.any(String));
    expect(revealed(token, hidden)).toBe(false);
    const second = await list({ QueueNamePrefix: prefix, MaxResults: 1, NextToken: token });
    expect(second.body.QueueUrls).toEqual([`http://localhost/000000000000/${mine}`]);
    const forged = await list({ QueueNamePrefix: prefix, MaxResults: 1, NextToken: btoa(hidden) });
    expect(forged).toMatchObject({ status: 400, body: { message: expect.stringContaining("NextToken") } });
  });
});
