// Which queues a grant covers, in one place for both sides that ask: the
// queue core authorizing a request (src/core/permissions.ts) and a Partition
// re-checking, when it moves a dead letter, that whoever named the
// dead-letter queue may still send to it (src/objects/partition/dead-letter.ts).

/** What a stored access key may do, as the Keyring keeps it (JSON). */
export interface StoredPermissions {
  admin: boolean;
  grants: readonly { queue: string; actions: readonly string[] }[];
}

/** `pattern` is a queue name, or a prefix followed by `*` (`*` alone is every queue). */
export function grantMatches(pattern: string, queueName: string): boolean {
  return pattern.endsWith("*") ? queueName.startsWith(pattern.slice(0, -1)) : pattern === queueName;
}

export function permissionsAllow(permissions: StoredPermissions, queueName: string, action: string): boolean {
  return permissions.admin || permissions.grants.some((grant) => grantMatches(grant.queue, queueName) && grant.actions.includes(action));
}
