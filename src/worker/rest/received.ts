// A received message in REST's shape: what a receive answers, and what a push
// webhook's body carries (worker/rest/webhook-delivery.ts), so the two never drift.
import type { ReceivedMessage } from "../../core/index.js";
import type { MessageAttributes, MessageAttributeValue } from "../../shared/messages.js";

export function receivedJson(message: ReceivedMessage) {
  return {
    id: message.id,
    body: message.body,
    md5OfBody: message.md5OfBody,
    receiptHandle: message.receiptHandle,
    receiveCount: message.receiveCount,
    sentAt: message.sentAt,
    firstReceivedAt: message.firstReceivedAt,
    attributes: fromAttributes(message.attributes),
    ...(message.priority === 0 ? {} : { priority: message.priority }),
    ...(message.messageGroupId === undefined ? {} : { messageGroupId: message.messageGroupId }),
    ...(message.sequenceNumber === undefined ? {} : { sequenceNumber: message.sequenceNumber }),
    ...(message.deadLetterSourceQueue === undefined ? {} : { deadLetterSourceQueue: message.deadLetterSourceQueue }),
  };
}

/** REST gives a String attribute as a plain string. */
export function fromAttributes(attributes: MessageAttributes): Record<string, string | MessageAttributeValue> {
  return Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, value.dataType === "String" ? value.stringValue! : value]));
}
