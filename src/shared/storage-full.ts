// SQLite's SQLITE_FULL ("database or disk is full"), recognised the same way
// in a Durable Object that catches it and in the Worker that receives it over
// RPC (where only the message survives), so both answer InsufficientStorage.

export function isStorageFull(error: unknown): boolean {
  return /SQLITE_FULL|database or disk is full/.test(error instanceof Error ? error.message : String(error));
}
