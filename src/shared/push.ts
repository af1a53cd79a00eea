// The WebSocket push protocol's words, shared by the Worker, the Partition and
// the SDK: the frames a subscriber and the server exchange, the frames the
// Worker and a Partition exchange on their own socket, the error codes an
// error frame carries, and the bounds of a subscription.
import type { ErrorCode } from "./errors.js";
import type { LeasedMessage, LeaseRef } from "./types.js";

/** Messages a subscriber may hold in flight (granted credit, unacknowledged): more is a CreditOverflow. */
export const MAX_PUSH_CREDITS = 1000;
/** Credit a subscription starts with when the subscriber names none. */
export const DEFAULT_PUSH_CREDITS = 10;
/** A client frame longer than this (UTF-8 bytes) is refused as FrameTooLarge. */
export const MAX_CLIENT_FRAME_BYTES = 64 * 1024;
/** Receipt handles one ack, nack or extend frame may name. */
export const MAX_FRAME_HANDLES = 100;

/** The sub-protocol every subscriber offers; the server answers with it. */
export const PUSH_PROTOCOL = "edgeq.v1";
/** A browser's credential travels as one more offered sub-protocol, `edgeq.bearer.<secret or token>` (never in the URL). */
export const BEARER_PROTOCOL_PREFIX = "edgeq.bearer.";

/** The stable codes of error frames. None of them closes the socket or touches another subscriber. */
export const PUSH_ERROR_CODES = ["InvalidFrame", "UnknownFrameType", "FrameTooLarge", "CreditOverflow", "UnknownReceiptHandle", "InvalidParameterValue", "ServiceUnavailable"] as const;
export type PushErrorCode = (typeof PUSH_ERROR_CODES)[number];

/** What a subscriber sends. */
export type ClientFrame =
  | { type: "ack"; receiptHandles: string[] }
  | { type: "nack"; receiptHandles: string[]; delaySeconds?: number }
  | { type: "credit"; add: number }
  | { type: "extend"; receiptHandles: string[]; visibilityTimeout: number }
  /** Push nothing more; the server answers `drained` once nothing more is on its way (a graceful stop). */
  | { type: "drain" };

/** What the server sends a subscriber; `message` is the shape a REST receive returns. */
export type ServerFrame =
  | { type: "message"; message: Record<string, unknown> & { id: string; receiptHandle: string } }
  /** `code`: a frame's own (PushErrorCode), or an ack's, nack's or extend's per-handle failure from the error table (e.g. ReceiptHandleIsInvalid). */
  | { type: "error"; code: PushErrorCode | ErrorCode; message: string; receiptHandles?: string[] }
  | { type: "drained" };

/** Leases one Worker-to-Partition credit frame may ask to delete. */
export const MAX_RELAY_ACKS = 1000;

/**
 * Worker to Partition: grant credit, or take back all the partition holds (it
 * answers `returned`). `acks`: leases its subscriber acknowledged (the Worker
 * checked they are handles it issued and opened them), which the partition
 * deletes in the same commit as the lease for the credit (a lease that moved
 * on is left alone, as a REST delete leaves it). Credit 0 with acks only deletes.
 */
export type RelayFrame = { type: "credit"; add: number; acks?: LeaseRef[] } | { type: "revoke" };

/** A leased message on the Worker-Partition socket: a sealed body travels base64-encoded. */
export type WireLeased = Omit<LeasedMessage, "body"> & { body?: string; body64?: string };

/**
 * Partition to Worker. `ready`: it has visible messages and this socket holds
 * no credit. `idle`: it holds credit it found nothing for (the Worker may ask
 * the other partitions whether they have messages, and move the credit).
 */
export type PartitionFrame =
  | { type: "messages"; messages: WireLeased[] }
  | { type: "ready" }
  | { type: "idle" }
  | { type: "returned"; credit: number }
  | { type: "refused"; code: string };
