// FIFO message groups inside one Partition. A group's messages are delivered
// in sequence order, and nothing more of a group is delivered while one of
// its messages is in flight. `fifo_groups` keeps one row per group that has
// messages: its head (lowest sequence number) and the moment the group can
// next deliver, indexed so a receive reads O(batch) rows however many groups
// are waiting. Groups interleave by that moment, oldest first.

type Row = Record<string, SqlStorageValue>;
export type Exec = <T extends Row>(query: string, ...bindings: unknown[]) => T[];

/** A message row as a receive reads it. */
export interface FifoRow extends Row {
  seq: number;
  group_id: string;
  visible_at: number;
  sent_at: number;
  receive_count: number;
}

/** A new message joined `groupId`; the group becomes known if it was empty. */
export function noteSent(exec: Exec, groupId: string, seq: number, visibleAt: number): void {
  exec(
    "INSERT INTO fifo_groups (group_id, head_seq, available_at) VALUES (?, ?, ?) ON CONFLICT (group_id) DO NOTHING",
    groupId, seq, visibleAt,
  );
}

/**
 * Picks the messages a FIFO receive may take: for each group that can deliver,
 * oldest first, the run of its first messages that are visible now (several
 * from one group keep their order). Returns sequence numbers in delivery order.
 */
export function pickFifo(exec: Exec, now: number, cutoff: number, max: number): number[] {
  const groups = exec<{ group_id: string }>(
    "SELECT group_id FROM fifo_groups WHERE available_at <= ? ORDER BY available_at, head_seq LIMIT ?", now, max,
  );
  const picked: number[] = [];
  for (const { group_id } of groups) {
    const remaining = max - picked.length;
    if (remaining === 0) break;
    const rows = exec<{ seq: number; visible_at: number; sent_at: number; leased: number }>(
      "SELECT seq, visible_at, sent_at, leased FROM messages WHERE group_id = ? AND leased != 2 ORDER BY seq LIMIT ?",
      group_id, remaining,
    );
    for (const row of rows) {
      if (row.visible_at > now) break; // in flight or not yet due: the rest of the group waits
      if (row.sent_at <= cutoff) continue; // expired, about to be removed by the alarm
      picked.push(row.seq);
    }
  }
  return picked;
}

/**
 * Recomputes a group's head and the moment it can deliver again: when its
 * head is visible and no message of the run behind it is in flight. Call
 * after anything that leases, releases, deletes or moves a message of it.
 */
export function refreshGroup(exec: Exec, groupId: string, now: number): void {
  const rows = exec<{ seq: number; visible_at: number; leased: number }>(
    "SELECT seq, visible_at, leased FROM messages WHERE group_id = ? AND leased != 2 ORDER BY seq LIMIT 11", groupId,
  );
  const head = rows[0];
  if (!head) {
    exec("DELETE FROM fifo_groups WHERE group_id = ?", groupId);
    return;
  }
  // Leases are taken as a run from the head, so the in-flight messages are a prefix.
  let availableAt = head.visible_at;
  for (const row of rows) {
    if (row.leased !== 1 || row.visible_at <= now) break;
    availableAt = Math.max(availableAt, row.visible_at);
  }
  exec("UPDATE fifo_groups SET head_seq = ?, available_at = ? WHERE group_id = ?", head.seq, availableAt, groupId);
}

/** Groups of the given messages, for refreshing after a change to them. */
export function groupsOf(exec: Exec, seqs: number[]): string[] {
  if (seqs.length === 0) return [];
  const groups = new Set<string>();
  for (let i = 0; i < seqs.length; i += 50) {
    const chunk = seqs.slice(i, i + 50);
    for (const { group_id } of exec<{ group_id: string | null }>(`SELECT DISTINCT group_id FROM messages WHERE seq IN (${chunk.map(() => "?").join(",")})`, ...chunk)) {
      if (group_id !== null) groups.add(group_id);
    }
  }
  return [...groups];
}

/** The earliest moment a currently blocked group can deliver, for long-poll wake-ups. */
export function nextGroupAvailable(exec: Exec, now: number): number | null {
  const [row] = exec<{ available_at: number }>("SELECT available_at FROM fifo_groups WHERE available_at > ? ORDER BY available_at LIMIT 1", now);
  return row?.available_at ?? null;
}

/** SQS sequence numbers are decimal strings; a partition's seq is strictly increasing, so per group too. */
export function sequenceNumber(seq: number): string {
  return String(seq).padStart(20, "0");
}
