// What the queue core needs to know about where it runs: the account it
// serves and the master key everything secret is derived from. The front
// door (src/worker/config.ts) reads these from secrets and adds its own.
export interface CoreConfig {
  /** 12 digits: the Catalog and Keyring shard, and the account in SQS URLs and ARNs. */
  accountId: string;
  masterKey: string;
  /** Set only during a master-key rotation: data keys not yet re-wrapped still unwrap under it, so messages keep flowing. */
  previousMasterKey?: string;
}
