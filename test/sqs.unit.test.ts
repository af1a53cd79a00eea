// The SQS adapter's pure parts: query-protocol folding into the JSON shape,
// XML rendering and escaping, queue URL parsing, parameter messages, and
// SigV4 verification against requests signed by aws4fetch (an independent signer).
import { AwsV4Signer } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { attributesForCreate } from "../src/core/attributes.js";
import type { Refusal } from "../src/core/refusal.js";
import { ApiError } from "../src/worker/api-error.js";
import { optionalInt } from "../src/worker/sqs/params.js";
import { parseRedriveAllowPolicy, parseRedrivePolicy, renderRedriveAllowPolicy, renderRedrivePolicy } from "../src/worker/sqs/policies.js";
import { detectProtocol, parseSqsRequest } from "../src/worker/sqs/protocol.js";
import { verifySigV4 } from "../src/worker/sqs/sigv4.js";
import { queueNameFromArn, queueNameFromUrl } from "../src/worker/sqs/urls.js";
import { escapeXml, xmlError, xmlSuccess } from "../src/worker/sqs/xml.js";

const naming = { origin: "http://127.0.0.1:8787", accountId: "000000000000", region: "us-east-1" };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
  return undefined;
}

describe("query protocol", () => {
  it("folds flattened lists and maps into the JSON protocol's shape", () => {
    const body = new URLSearchParams({
      Action: "SendMessageBatch",
      Version: "2012-11-05",
      QueueUrl: "http://h/000000000000/q",
      "SendMessageBatchRequestEntry.2.Id": "b",
      "SendMessageBatchRequestEntry.2.MessageBody": "second",
      "SendMessageBatchRequestEntry.1.Id": "a",
      "SendMessageBatchRequestEntry.1.MessageBody": "first",
      "SendMessageBatchRequestEntry.1.DelaySeconds": "5",
      "SendMessageBatchRequestEntry.1.MessageAttribute.1.Name": "k",
      "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType": "Number",
      "SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue": "3",
    }).toString();
    const request = parseSqsRequest("query", new Headers(), new URL("http://h/"), body);
    expect(request).toEqual({
      protocol: "query",
      action: "SendMessageBatch",
      input: {
        QueueUrl: "http://h/000000000000/q",
        Entries: [
          { Id: "a", MessageBody: "first", DelaySeconds: "5", MessageAttributes: { k: { DataType: "Number", StringValue: "3" } } },
          { Id: "b", MessageBody: "second" },
        ],
      },
    });
  });

  it("maps attribute, tag and name lists", () => {
    const body = "Action=CreateQueue&QueueName=q&Attribute.1.Name=DelaySeconds&Attribute.1.Value=3&Tag.1.Key=team&Tag.1.Value=core&AttributeName.1=All";
    expect(parseSqsRequest("query", new Headers(), new URL("http://h/"), body).input).toEqual({
      QueueName: "q", Attributes: { DelaySeconds: "3" }, Tags: { team: "core" }, AttributeNames: ["All"],
    });
  });

  it("refuses prototype keys and requires an Action", () => {
    const parsed = parseSqsRequest("query", new Headers(), new URL("http://h/"), "Action=ListQueues&__proto__.polluted=1");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(parsed.input).toEqual({});
    expect(code(() => parseSqsRequest("query", new Headers(), new URL("http://h/"), "QueueName=q"))).toBe("MissingParameter");
  });

  it("tells the protocols apart by headers", () => {
    expect(detectProtocol(new Headers({ "x-amz-target": "AmazonSQS.ListQueues" }))).toBe("json");
    expect(detectProtocol(new Headers({ "content-type": "application/x-amz-json-1.0" }))).toBe("json");
    expect(detectProtocol(new Headers({ "content-type": "application/x-www-form-urlencoded" }))).toBe("query");
    expect(code(() => parseSqsRequest("json", new Headers({ "x-amz-target": "Other.X" }), new URL("http://h/"), "{}"))).toBe("InvalidAction");
    expect(code(() => parseSqsRequest("json", new Headers({ "x-amz-target": "AmazonSQS.X" }), new URL("http://h/"), "[1]"))).toBe("MalformedRequest");
  });
});

describe("XML", () => {
  it("renders flattened members, batch entries and escapes carriage returns", () => {
    const xml = xmlSuccess("SendMessageBatch", { Successful: [{ Id: "a", MessageId: "m" }], Failed: [{ Id: "b", SenderFault: true, Code: "X", Message: "<bad>" }] }, "rid");
    expect(xml).toContain("<SendMessageBatchResult><SendMessageBatchResultEntry><Id>a</Id><MessageId>m</MessageId></SendMessageBatchResultEntry>");
    expect(xml).toContain("<BatchResultErrorEntry><Id>b</Id><SenderFault>true</SenderFault><Code>X</Code><Message>&lt;bad&gt;</Message></BatchResultErrorEntry>");
    expect(xmlSuccess("DeleteQueue", null, "rid")).not.toContain("DeleteQueueResult");
    expect(escapeXml("a\r\nb&")).toBe("a&#xD;\nb&amp;");
    expect(xmlError("Sender", "AWS.SimpleQueueService.NonExistentQueue", "gone", "rid")).toContain("<Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>gone</Message>");
  });
});

describe("names and parameters", () => {
  it("routes by queue URL and ARN, and only within this account", () => {
    expect(queueNameFromUrl(naming, "https://elsewhere.example/000000000000/orders")).toBe("orders");
    expect(queueNameFromUrl(naming, "/000000000000/orders")).toBe("orders");
    expect(code(() => queueNameFromUrl(naming, "http://h/111111111111/orders"))).toBe("QueueDoesNotExist");
    expect(queueNameFromUrl(naming, "https://sqs.us-east-1.amazonaws.com/000000000000/orders")).toBe("orders");
    expect(queueNameFromUrl(naming, "orders")).toBe("orders");
    expect(queueNameFromUrl(naming, "orders.fifo")).toBe("orders.fifo");
    // A URL that names no queue of this account is a queue that does not exist, as AWS answers.
    expect(code(() => queueNameFromUrl(naming, "http://h/orders"))).toBe("QueueDoesNotExist");
    expect(code(() => queueNameFromUrl(naming, "http://whatever-incorrect-queue-address"))).toBe("QueueDoesNotExist");
    expect(code(() => queueNameFromUrl(naming, "no such queue"))).toBe("InvalidAddress");
    expect(code(() => queueNameFromUrl(naming, "a".repeat(81)))).toBe("InvalidAddress");
    expect(queueNameFromArn(naming, "arn:aws:sqs:eu-west-1:000000000000:dlq", "RedrivePolicy")).toBe("dlq");
    expect(code(() => queueNameFromArn(naming, "arn:aws:sns:eu-west-1:000000000000:dlq", "RedrivePolicy"))).toBe("InvalidParameterValue");
  });

  it("quotes the parameter and the bound as SQS does", () => {
    expect(() => optionalInt({ MaxNumberOfMessages: 11 }, "MaxNumberOfMessages", 1, 10)).toThrow(
      "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.",
    );
    expect(optionalInt({ WaitTimeSeconds: "20" }, "WaitTimeSeconds", 0, 20)).toBe(20);
    expect(code(() => optionalInt({ WaitTimeSeconds: "2.5" }, "WaitTimeSeconds", 0, 20))).toBe("InvalidParameterValue");
  });
});

describe("SigV4 verification", () => {
  const lookup = (keyId: string) => (keyId === "local" ? "local-dev-secret" : null);
  const body = "Action=ListQueues&Version=2012-11-05";

  async function signed(options: { secret?: string; keyId?: string; datetime?: string; url?: string } = {}) {
    const signer = new AwsV4Signer({
      method: "POST",
      url: options.url ?? "http://127.0.0.1:8787/",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
      accessKeyId: options.keyId ?? "local",
      secretAccessKey: options.secret ?? "local-dev-secret",
      service: "sqs",
      region: "ap-southeast-2",
      datetime: options.datetime,
    });
    const { url, headers } = await signer.sign();
    return { method: "POST", url: new URL(url), headers, body: new TextEncoder().encode(body) };
  }

  async function failure(promise: Promise<unknown>): Promise<string> {
    try {
      await promise;
    } catch (error) {
      return (error as ApiError).code;
    }
    return "accepted";
  }

  it("accepts a correctly signed request and reports key and region", async () => {
    await expect(verifySigV4(await signed(), lookup)).resolves.toEqual({ accessKeyId: "local", region: "ap-southeast-2" });
    await expect(verifySigV4(await signed({ url: "http://127.0.0.1:8787/000000000000/q?x=a%20b&a=1" }), lookup)).resolves.toBeTruthy();
  });

  it("names each failure as AWS does", async () => {
    expect(await failure(verifySigV4(await signed({ secret: "wrong" }), lookup))).toBe("SignatureDoesNotMatch");
    expect(await failure(verifySigV4(await signed({ keyId: "stranger" }), lookup))).toBe("InvalidClientTokenId");
    const old = new Date(Date.now() - 6 * 60_000).toISOString().replace(/[:-]|\.\d{3}/g, "");
    expect(await failure(verifySigV4(await signed({ datetime: old }), lookup))).toBe("RequestExpired");
    const tampered = await signed();
    tampered.body = new TextEncoder().encode("Action=DeleteQueue&QueueUrl=x");
    expect(await failure(verifySigV4(tampered, lookup))).toBe("SignatureDoesNotMatch");
    const unsigned = await signed();
    unsigned.headers.delete("authorization");
    expect(await failure(verifySigV4(unsigned, lookup))).toBe("MissingAuthenticationToken");
    const garbled = await signed();
    garbled.headers.set("authorization", "AWS4-HMAC-SHA256 Credential=local/x");
    expect(await failure(verifySigV4(garbled, lookup))).toBe("IncompleteSignature");
  });
});

describe("redrive policies", () => {
  const dlq = "arn:aws:sqs:us-east-1:000000000000:dlq";

  it("maps ARNs to names and back, taking maxReceiveCount as a number or a string", () => {
    expect(parseRedrivePolicy(naming, JSON.stringify({ deadLetterTargetArn: dlq, maxReceiveCount: "5" }))).toEqual({ deadLetterQueue: "dlq", maxReceiveCount: 5 });
    expect(parseRedrivePolicy(naming, JSON.stringify({ deadLetterTargetArn: dlq, maxReceiveCount: 1000 }))).toEqual({ deadLetterQueue: "dlq", maxReceiveCount: 1000 });
    expect(parseRedrivePolicy(naming, "")).toBeNull();
    expect(renderRedrivePolicy(naming, { deadLetterQueue: "dlq", maxReceiveCount: 5 })).toBe(`{"deadLetterTargetArn":"${dlq}","maxReceiveCount":5}`);
    const allow = JSON.stringify({ redrivePermission: "byQueue", sourceQueueArns: ["arn:aws:sqs:us-east-1:000000000000:a"] });
    expect(parseRedriveAllowPolicy(naming, allow)).toEqual({ redrivePermission: "byQueue", sourceQueues: ["a"] });
    expect(renderRedriveAllowPolicy(naming, { redrivePermission: "byQueue", sourceQueues: ["a"] })).toBe(allow);
    expect(parseRedriveAllowPolicy(naming, '{"redrivePermission":"denyAll"}')).toEqual({ redrivePermission: "denyAll" });
  });

  it("refuses malformed policies with InvalidParameterValue; the core refuses counts out of bounds", () => {
    for (const bad of [
      "not json", "[]", JSON.stringify({ maxReceiveCount: 3 }), JSON.stringify({ deadLetterTargetArn: dlq, maxReceiveCount: "three" }),
      JSON.stringify({ deadLetterTargetArn: "arn:aws:sqs:us-east-1:111111111111:dlq", maxReceiveCount: 3 }),
      JSON.stringify({ deadLetterTargetArn: dlq, maxReceiveCount: 3, extra: 1 }),
    ]) {
      expect(code(() => parseRedrivePolicy(naming, bad))).toBe("InvalidParameterValue");
    }
    for (const [count, allowed] of [[0, false], [1, true], [1000, true], ["1001", false], [2.5, false]] as const) {
      const policy = parseRedrivePolicy(naming, JSON.stringify({ deadLetterTargetArn: dlq, maxReceiveCount: count }))!;
      const refused = (() => {
        try {
          attributesForCreate("source", { redrivePolicy: policy });
          return null;
        } catch (error) {
          return (error as Refusal).problem;
        }
      })();
      if (allowed) expect(refused, String(count)).toBeNull();
      else expect(refused, String(count)).toMatchObject({ rule: "range", field: "attributes.redrivePolicy.maxReceiveCount", bound: [1, 1000] });
    }
    for (const bad of ['{"redrivePermission":"some"}', '{"redrivePermission":"byQueue","sourceQueueArns":"a"}', "{"]) {
      expect(code(() => parseRedriveAllowPolicy(naming, bad))).toBe("InvalidParameterValue");
    }
  });
});
