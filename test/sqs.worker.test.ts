// Inside workerd: the attribute digest against Amazon's published samples
// (MD5 is not in Node's Web Crypto, so this tier is where it can run), the
// Catalog's per-queue SQS metadata, and the SQS handler behind the Worker's
// fetch with a request signed by aws4fetch.
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import type { Catalog } from "../src/objects/catalog/catalog.js";
import { DEFAULT_ATTRIBUTES } from "../src/shared/limits.js";
import { md5OfAttributes } from "../src/worker/sqs/md5.js";

describe("MD5OfMessageAttributes", () => {
  it("matches Amazon's sample digests for string and binary attributes", async () => {
    expect(await md5OfAttributes({
      test_attribute_name_2: { dataType: "String", stringValue: "test_attribute_value_2" },
      test_attribute_name_1: { dataType: "String", stringValue: "test_attribute_value_1" },
    })).toBe("d53f3b558fe951154770f25cb63dbba9");
    expect(await md5OfAttributes({
      test_attribute_name: { dataType: "Binary", binaryValue: btoa("test_attribute_value") },
    })).toBe("23f6bd27ea87aab7dfeadcc9aebee495");
  });
});

describe("Catalog queue extras", () => {
  let counter = 0;
  const catalog = (): DurableObjectStub<Catalog> => env.CATALOG.get(env.CATALOG.idFromName(`sqs-extras-${++counter}`));

  it("keeps tags per queue life, enforces limits and label rules", async () => {
    const c = catalog();
    await c.createQueue("q", { ...DEFAULT_ATTRIBUTES });
    expect(await c.updateQueueExtras("q", "tag", { set: { a: "1", b: "2" }, maxEntries: 2 })).toMatchObject({ ok: true, values: { a: "1", b: "2" } });
    expect(await c.updateQueueExtras("q", "tag", { set: { c: "3" }, maxEntries: 2 })).toMatchObject({ ok: false, code: "InvalidParameterValue" });
    expect(await c.queueExtras("q", "tag")).toEqual({ ok: true, values: { a: "1", b: "2" } });
    expect(await c.updateQueueExtras("q", "permission", { set: { l: "{}" }, mustBeNew: true })).toMatchObject({ ok: true });
    expect(await c.updateQueueExtras("q", "permission", { set: { l: "{}" }, mustBeNew: true })).toMatchObject({ ok: false, code: "InvalidParameterValue" });
    expect(await c.updateQueueExtras("q", "permission", { remove: ["absent"], mustExist: true })).toMatchObject({ ok: false, code: "InvalidParameterValue" });

    await c.deleteQueue("q");
    expect(await c.queueExtras("q", "tag")).toMatchObject({ ok: false, code: "QueueDoesNotExist" });
    await c.createQueue("q", { ...DEFAULT_ATTRIBUTES });
    expect(await c.queueExtras("q", "tag")).toEqual({ ok: true, values: {} });
  });
});

describe("SQS handler in the Worker", () => {
  it("serves a signed JSON-protocol request and answers an unsigned one with MissingAuthenticationToken", async () => {
    const aws = new AwsClient({ accessKeyId: "local", secretAccessKey: "local-dev-secret", service: "sqs", region: "us-east-1" });
    const request = await aws.sign("http://localhost/", {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.CreateQueue" },
      body: JSON.stringify({ QueueName: "sqs-worker-tier" }),
    });
    const response = await exports.default.fetch(request);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ QueueUrl: "http://localhost/000000000000/sqs-worker-tier" });

    const unsigned = await exports.default.fetch(new Request("http://localhost/", {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" },
      body: "{}",
    }));
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get("x-amzn-query-error")).toBe("MissingAuthenticationToken;Sender");
  });

  it("answers an unknown action with InvalidAction in XML for the query protocol", async () => {
    const aws = new AwsClient({ accessKeyId: "local", secretAccessKey: "local-dev-secret", service: "sqs", region: "us-east-1" });
    const request = await aws.sign("http://localhost/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=FlyToTheMoon&Version=2012-11-05",
    });
    const response = await exports.default.fetch(request);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("<Code>InvalidAction</Code>");
  });
});
