// The query protocol's XML responses, produced from the same JSON-shaped
// result the JSON protocol sends. SQS's XML flattens lists and maps: a list
// member repeats its element (`<QueueUrl>` per queue), a map entry becomes
// `<Attribute><Name/><Value/></Attribute>`; these rules come from the SQS
// service model's locationName/flattened traits.

export const XMLNS = "http://queue.amazonaws.com/doc/2012-11-05/";

/** JSON member name -> how it appears in XML. Members not listed are plain elements. */
const MEMBERS: Record<string, { element: string; map?: { key: string; value: string } }> = {
  QueueUrls: { element: "QueueUrl" },
  queueUrls: { element: "QueueUrl" },
  Messages: { element: "Message" },
  Attributes: { element: "Attribute", map: { key: "Name", value: "Value" } },
  MessageAttributes: { element: "MessageAttribute", map: { key: "Name", value: "Value" } },
  Tags: { element: "Tag", map: { key: "Key", value: "Value" } },
  Failed: { element: "BatchResultErrorEntry" },
  StringListValues: { element: "StringListValue" },
  BinaryListValues: { element: "BinaryListValue" },
  Results: { element: "ListMessageMoveTasksResultEntry" },
};

export function xmlSuccess(action: string, result: Record<string, unknown> | null, requestId: string): string {
  const body = result === null ? "" : `<${action}Result>${members(action, result)}</${action}Result>`;
  return `<?xml version="1.0"?><${action}Response xmlns="${XMLNS}">${body}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
}

export function xmlError(type: "Sender" | "Receiver", code: string, message: string, requestId: string): string {
  return `<?xml version="1.0"?><ErrorResponse xmlns="${XMLNS}"><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message><Detail/></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
}

function members(action: string, object: Record<string, unknown>): string {
  let out = "";
  for (const [name, value] of Object.entries(object)) {
    if (value === undefined || value === null) continue;
    const rule = name === "Successful" ? { element: `${action}ResultEntry` } : MEMBERS[name];
    if (rule?.map && typeof value === "object" && !Array.isArray(value)) {
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        out += `<${rule.element}><${rule.map.key}>${escapeXml(key)}</${rule.map.key}>${element(action, rule.map.value, item)}</${rule.element}>`;
      }
    } else if (Array.isArray(value)) {
      const tag = rule?.element ?? name;
      for (const item of value) out += element(action, tag, item);
    } else {
      out += element(action, name, value);
    }
  }
  return out;
}

function element(action: string, tag: string, value: unknown): string {
  if (typeof value === "object" && value !== null) return `<${tag}>${members(action, value as Record<string, unknown>)}</${tag}>`;
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

/** Carriage returns are escaped too, or an XML parser would turn them into newlines. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#xD;" })[c]!);
}
