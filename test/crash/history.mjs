// The operation history of a crash run and Jepsen's total-queue check over it:
// every send and delete is recorded with its outcome (ok / failed / unknown when
// the connection died), every delivery with the time its receive was issued,
// every delete with its outcome. An acknowledged send counts as lost unless a
// delete of it was acknowledged (or its delete's outcome is unknown): a message
// delivered once and then lost in a crash is lost, even though it was seen.

export class History {
  /** body -> "ok" | "failed" | "unknown" (ok wins over an earlier unknown of a retry) */
  sends = new Map();
  /** body -> number of deliveries */
  deliveries = new Map();
  /** body -> time the first acknowledged delete completed */
  deleteAcked = new Map();
  /** body -> number of deletes answered `deleted: true` (more than one is a violation) */
  deletesOk = new Map();
  /** bodies whose delete request died without an answer: maybe deleted */
  deleteUnknown = new Set();
  /** deliveries of a body by a receive issued after its delete was acknowledged */
  deliveredAfterDelete = [];

  send(body, outcome) {
    if (this.sends.get(body) !== "ok") this.sends.set(body, outcome);
  }

  delivered(body, issuedAt) {
    this.deliveries.set(body, (this.deliveries.get(body) ?? 0) + 1);
    const acked = this.deleteAcked.get(body);
    if (acked !== undefined && issuedAt > acked) this.deliveredAfterDelete.push(body);
  }

  deleted(body, at) {
    if (!this.deleteAcked.has(body)) this.deleteAcked.set(body, at);
    this.deletesOk.set(body, (this.deletesOk.get(body) ?? 0) + 1);
  }

  /** A delete whose answer never came (connection died, 5xx): it may have been applied. */
  deleteUnanswered(body) {
    this.deleteUnknown.add(body);
  }

  check() {
    const count = (predicate) => [...this.sends].filter(predicate).length;
    const lost = [...this.sends]
      .filter(([body, outcome]) => outcome === "ok" && !this.deleteAcked.has(body) && !this.deleteUnknown.has(body))
      .map(([body]) => body);
    const neverDelivered = count(([body, outcome]) => outcome === "ok" && !this.deliveries.has(body));
    const deletedTwice = [...this.deletesOk].filter(([, n]) => n > 1).map(([body]) => body);
    const unexpected = [...this.deliveries.keys()].filter((body) => !this.sends.has(body) || this.sends.get(body) === "failed");
    const duplicated = [...this.deliveries.values()].filter((n) => n > 1).length;
    const recovered = count(([body, outcome]) => outcome === "unknown" && this.deliveries.has(body));
    return {
      attempted: this.sends.size,
      acknowledged: count(([, outcome]) => outcome === "ok"),
      unknown: count(([, outcome]) => outcome === "unknown"),
      failed: count(([, outcome]) => outcome === "failed"),
      delivered: this.deliveries.size,
      lost: lost.length,
      neverDelivered,
      deletedTwice: deletedTwice.length,
      deleteUnknown: this.deleteUnknown.size,
      unexpected: unexpected.length,
      duplicated,
      recovered,
      deliveredAfterDelete: this.deliveredAfterDelete.length,
      examples: { lost: lost.slice(0, 5), deletedTwice: deletedTwice.slice(0, 5), unexpected: unexpected.slice(0, 5), deliveredAfterDelete: this.deliveredAfterDelete.slice(0, 5) },
    };
  }
}
