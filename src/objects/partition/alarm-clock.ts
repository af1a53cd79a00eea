// The partition's one alarm as this object last set it, kept in memory so
// that arming it costs a storage write only when the time moves earlier. It
// is only ever moved earlier: an alarm set for an earlier time fires, finds
// less to do, and re-arms (see schedule.ts). This keeps a storage write off
// every delete (deleting the oldest message pushes its retention expiry later).
export class AlarmClock {
  #at: number | null = null;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Reads the alarm the platform holds (at start-up, inside blockConcurrencyWhile). */
  async load(): Promise<void> {
    this.#at = await this.storage.getAlarm();
  }

  /** The alarm fired: none is set until the next arm. */
  fired(): void {
    this.#at = null;
  }

  /** Sets the alarm at `next` unless one is already set no later. */
  async noLaterThan(next: number): Promise<void> {
    if (this.#at !== null && next >= this.#at) return;
    this.#at = next;
    await this.storage.setAlarm(next);
  }

  /** The earliest due time, or null when nothing is due (the alarm is deleted). */
  async due(next: number | null): Promise<void> {
    if (next !== null) return this.noLaterThan(next);
    if (this.#at === null) return;
    this.#at = null;
    await this.storage.deleteAlarm();
  }
}
