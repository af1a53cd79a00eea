// The bare baseline `npm run bench` divides edgeq's numbers by: the least
// storage work a queue must do per message (insert; select + update to lease;
// delete) in a SQLite-backed Durable Object behind the same server (in the
// bench build only, src/bench/worker.ts), with none of edgeq's validation,
// auth, encryption, receipts or counters.
// On a shared 2-core machine absolute numbers drift; the ratio is what we track.
import { DurableObject } from "cloudflare:workers";

export interface BaselineMessage {
  seq: number;
  body: string;
}

export class Baseline extends DurableObject<BenchEnv> {
  #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: BenchEnv) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    this.#sql.exec("CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, visible_at INTEGER NOT NULL)");
    this.#sql.exec("CREATE INDEX IF NOT EXISTS messages_visible ON messages (visible_at, seq)");
  }

  send(bodies: string[]): number[] {
    const now = Date.now();
    return bodies.map((body) => this.#sql.exec<{ seq: number }>("INSERT INTO messages (body, visible_at) VALUES (?, ?) RETURNING seq", body, now).one().seq);
  }

  receive(max: number, visibilityMs: number): BaselineMessage[] {
    const now = Date.now();
    const rows = this.#sql
      .exec<{ seq: number; body: string }>("SELECT seq, body FROM messages WHERE visible_at <= ? ORDER BY visible_at, seq LIMIT ?", now, max)
      .toArray();
    for (const row of rows) this.#sql.exec("UPDATE messages SET visible_at = ? WHERE seq = ?", now + visibilityMs, row.seq);
    return rows.map((row) => ({ seq: row.seq, body: row.body }));
  }

  delete(seqs: number[]): number {
    let deleted = 0;
    for (const seq of seqs) deleted += this.#sql.exec("DELETE FROM messages WHERE seq = ?", seq).rowsWritten > 0 ? 1 : 0;
    return deleted;
  }
}
