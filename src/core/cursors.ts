// Paging cursors (REST `cursor`, SQS `NextToken`) sealed under a key derived
// from the master key for this purpose alone: a cursor names where the
// previous page ended, which may be a queue the caller has no grant on, so
// it must not be readable. The associated data binds it to the account and
// the credential it was issued to; anything else, altered or forged, opens
// to null and the protocol refuses it in its own words.
import type { CoreConfig } from "./config.js";
import { unwrap, wrap } from "./master.js";
import type { Principal } from "./permissions.js";

const encoder = new TextEncoder();
/** A sealed 80-character name is 148 characters; anything much longer was not issued here. */
const MAX_CURSOR_LENGTH = 256;

export class Cursors {
  readonly #config: CoreConfig;
  readonly #caller: Principal;

  constructor(config: CoreConfig, caller: Principal) {
    this.#config = config;
    this.#caller = caller;
  }

  seal(position: string): Promise<string> {
    return wrap(this.#config.masterKey, encoder.encode(position), this.#context(), "cursor");
  }

  /** The position a cursor from `seal` holds, or null when it was not issued to this caller. */
  async open(cursor: string): Promise<string | null> {
    if (cursor.length > MAX_CURSOR_LENGTH) return null;
    const plain = await unwrap(this.#config.masterKey, cursor, this.#context(), "cursor");
    return plain ? new TextDecoder().decode(plain) : null;
  }

  #context(): string {
    return `list-cursor/${this.#config.accountId}/${this.#caller.keyId}`;
  }
}
