import { type Observable, Subject } from 'rxjs';
import type { Reading } from '../model/index.js';

/**
 * Topics carried by the hub and the type of each message. Modules add their own topics by
 * declaration merging, so the hub stays free of their types:
 *
 *   declare module '../stream/hub.js' { interface HubTopics { plans: Plan } }
 */
export interface HubTopics {
  readings: Reading;
}

export type TopicName = keyof HubTopics;

/**
 * The in-process backbone: sources (gateway, simulator) publish, sinks (store writer, live
 * API, optimiser) subscribe. Delivery is synchronous and in order; a subscriber that needs
 * to do slow work must buffer (see StoreWriter) rather than block publishers.
 */
export class Hub {
  private readonly subjects = new Map<TopicName, Subject<unknown>>();
  private closed = false;

  private subject<K extends TopicName>(name: K): Subject<HubTopics[K]> {
    let s = this.subjects.get(name);
    if (!s) {
      s = new Subject<unknown>();
      if (this.closed) s.complete();
      this.subjects.set(name, s);
    }
    return s as Subject<HubTopics[K]>;
  }

  topic<K extends TopicName>(name: K): Observable<HubTopics[K]> {
    return this.subject(name).asObservable();
  }

  publish<K extends TopicName>(name: K, message: HubTopics[K]): void {
    if (this.closed) return;
    this.subject(name).next(message);
  }

  get readings$(): Observable<Reading> {
    return this.topic('readings');
  }

  publishReadings(batch: readonly Reading[]): void {
    const s = this.subject('readings');
    for (const r of batch) s.next(r);
  }

  /** Complete every topic: subscribers see `complete` and flush (the store writer does). */
  close(): void {
    this.closed = true;
    for (const s of this.subjects.values()) s.complete();
  }
}
