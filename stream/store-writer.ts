import { BehaviorSubject, type Observable, type Subscription } from 'rxjs';
import type { Reading } from '../model/index.js';
import type { DiskQueue } from './disk-queue.js';

/** Where the writer puts readings: the store's readings repository, or anything with the same shape. */
export interface ReadingSink {
  ingest(batch: readonly Reading[]): Promise<{ inserted: number; duplicates: number }>;
}

export interface StoreWriterOptions {
  /** Largest batch per ingest call. Default 20,000 (the store pipelines it in COPY chunks). */
  maxBatch?: number;
  /** Longest a reading waits in memory before a write starts. Default 200 ms. */
  maxDelayMs?: number;
  /**
   * Durability bound: a reading the store has not confirmed within this time (waiting in
   * memory, or in a write that has not finished) is appended to the disk queue, so a crash
   * (kill -9, power cut) loses at most about this much. Default 1000 ms. Readings are
   * spooled at half of it, so the fsync fits inside the bound.
   */
  spoolAfterMs?: number;
  /**
   * Readings held in memory while the store is slow. Past it they go to the disk queue, or,
   * without one, the oldest are dropped and counted. Default 100,000 (about 10 MB).
   */
  maxMemory?: number;
  /** Durable overflow; without it an outage longer than `maxMemory` readings loses data. */
  disk?: DiskQueue;
  /** Retry delay after a failed ingest doubles from this up to `maxRetryMs`. Defaults 250 ms and 30 s. */
  minRetryMs?: number;
  maxRetryMs?: number;
  onError?: (err: unknown) => void;
}

export interface StoreWriterStatus {
  state: 'ok' | 'retrying' | 'stopped';
  received: number;
  stored: number;
  duplicates: number;
  /** Readings sent to the disk queue (at least once). */
  spilled: number;
  /** Readings lost: memory bound without a disk queue, or the disk queue's own bound. */
  dropped: number;
  pendingMemory: number;
  pendingDisk: number;
  lastError: string | null;
}

/**
 * Batches readings from a stream into the store by count and time, one ingest at a time so
 * order is kept. Durability: a reading the store has not confirmed within `spoolAfterMs`
 * is on the disk queue by then, whether the store is down, slow or hanging, so a crash loses
 * at most about that much. Back-pressure: a stream cannot be slowed, so while the store is
 * slow or down readings go to the disk queue (in order: disk holds older readings than
 * memory, and drains first), or, without one, wait in memory up to `maxMemory`. Nothing is
 * retried into a duplicate: ingest is idempotent.
 */
export class StoreWriter {
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly maxMemory: number;
  private readonly minRetryMs: number;
  private readonly maxRetryMs: number;
  private mem: Reading[] = [];
  /** When each reading in `mem` arrived (ms), same order. */
  private memAt: number[] = [];
  /** The memory batch being written: spooled once if the write outlasts the bound. */
  private inflight: { batch: Reading[]; since: number; spooled: boolean } | null = null;
  private spoolTimer: NodeJS.Timeout | null = null;
  private readonly spoolAfterMs: number;
  private sub: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  private retryAt = 0;
  private failures = 0;
  private stopping = false;
  private stopped = false;
  private counts = { received: 0, stored: 0, duplicates: 0, spilled: 0, droppedMemory: 0 };
  private lastError: string | null = null;
  readonly status$: BehaviorSubject<StoreWriterStatus>;

  constructor(
    private readonly sink: ReadingSink,
    private readonly options: StoreWriterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 20_000;
    this.maxDelayMs = options.maxDelayMs ?? 200;
    this.spoolAfterMs = options.spoolAfterMs ?? 1000;
    this.maxMemory = Math.max(options.maxMemory ?? 100_000, this.maxBatch);
    this.minRetryMs = options.minRetryMs ?? 250;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
    this.status$ = new BehaviorSubject(this.status());
  }

  private get disk(): DiskQueue | undefined {
    return this.options.disk;
  }

  status(): StoreWriterStatus {
    return {
      state: this.stopped ? 'stopped' : this.failures > 0 ? 'retrying' : 'ok',
      ...this.counts,
      dropped: this.counts.droppedMemory + (this.disk?.dropped ?? 0),
      pendingMemory: this.mem.length,
      pendingDisk: this.disk?.pendingReadings ?? 0,
      lastError: this.lastError,
    };
  }

  start(source: Observable<Reading>): this {
    this.sub = source.subscribe({
      next: (r) => this.accept(r),
      complete: () => void this.flush(),
    });
    // Readings left on disk by an earlier run go first.
    if ((this.disk?.pendingBatches ?? 0) > 0) this.kick(true);
    if (this.disk) {
      const every = Math.max(10, Math.floor(this.spoolAfterMs / 4));
      this.spoolTimer = setInterval(() => this.spoolOverdue(), every);
    }
    return this;
  }

  /**
   * The durability bound: whatever has waited half of `spoolAfterMs` without the store
   * confirming it goes to disk now (memory after the batch in flight, so disk keeps order).
   * A batch spooled while its write was still running may be stored twice over: ingest is
   * idempotent, so the replay counts as duplicates and stores nothing.
   */
  private spoolOverdue(): void {
    const due = Date.now() - this.spoolAfterMs / 2;
    const f = this.inflight;
    const memDue = this.memAt.length > 0 && this.memAt[0]! <= due;
    if (f && !f.spooled && (f.since <= due || memDue)) {
      f.spooled = true;
      this.spill(f.batch);
    }
    if (memDue) this.spillMemory();
  }

  private takeMemory(n = this.mem.length): Reading[] {
    this.memAt.splice(0, n);
    return this.mem.splice(0, n);
  }

  private spillMemory(): void {
    if (this.mem.length > 0) this.spill(this.takeMemory());
  }

  private accept(r: Reading): void {
    this.counts.received += 1;
    this.mem.push(r);
    this.memAt.push(Date.now());
    const spilling = (this.disk?.pendingBatches ?? 0) > 0;
    if (spilling && this.mem.length >= this.maxBatch) {
      this.spillMemory();
    } else if (this.mem.length > this.maxMemory) {
      if (this.disk) this.spillMemory();
      else this.trimMemory();
    }
    if (this.mem.length >= this.maxBatch) this.kick();
    else if (!this.timer) this.timer = setTimeout(() => this.kick(true), this.maxDelayMs);
  }

  /** Without a disk queue, the oldest readings past the memory bound are dropped (and counted). */
  private trimMemory(): void {
    const excess = this.mem.length - this.maxMemory;
    if (excess <= 0) return;
    this.takeMemory(excess);
    this.counts.droppedMemory += excess;
  }

  private spill(batch: Reading[]): void {
    this.counts.spilled += batch.length;
    this.disk!.append(batch).catch((err) => this.report(err));
  }

  private report(err: unknown): void {
    this.lastError = err instanceof Error ? err.message : String(err);
    this.options.onError?.(err);
  }

  private kick(timerFired = false): void {
    if (timerFired) this.timer = null;
    if (this.pumping) return;
    this.pumping = this.pump(timerFired).finally(() => {
      this.pumping = null;
      this.status$.next(this.status());
      if (this.mem.length > 0 || (this.disk?.pendingBatches ?? 0) > 0) this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    const now = Date.now();
    this.timer = setTimeout(() => this.kick(true), this.retryAt > now ? this.retryAt - now : this.maxDelayMs);
  }

  private async pump(flushAll: boolean): Promise<void> {
    while (Date.now() >= this.retryAt) {
      let batch: Reading[] | null = null;
      let fromDisk = false;
      if (this.disk && this.disk.pendingBatches > 0) {
        // Spooled batches are small (about a second each): replay several per ingest.
        batch = await this.disk.peek(this.maxBatch);
        fromDisk = batch !== null;
      }
      if (!batch) {
        if (this.mem.length === 0 || (this.mem.length < this.maxBatch && !flushAll && !this.stopping)) return;
        const since = this.memAt[0]!;
        batch = this.takeMemory(Math.min(this.maxBatch, this.mem.length));
        this.inflight = { batch, since, spooled: false };
      }
      try {
        const res = await this.sink.ingest(batch);
        this.counts.stored += res.inserted;
        this.counts.duplicates += res.duplicates;
        if (fromDisk) await this.disk!.ack();
        this.failures = 0;
        this.retryAt = 0;
      } catch (err) {
        this.report(err);
        this.failures += 1;
        this.retryAt = Date.now() + Math.min(this.maxRetryMs, this.minRetryMs * 2 ** (this.failures - 1));
        if (!fromDisk) {
          if (this.disk) {
            if (!this.inflight?.spooled) this.spill(batch);
            this.spillMemory();
          } else {
            this.mem.unshift(...batch);
            this.memAt.unshift(...batch.map(() => Date.now()));
            this.trimMemory();
          }
        }
        return;
      } finally {
        this.inflight = null;
      }
    }
  }

  /** Write everything pending now (memory first to disk order preserved); resolves when done or failing. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.pumping) await this.pumping;
    this.retryAt = 0;
    this.kick(true);
    while (this.pumping) await this.pumping;
  }

  /**
   * Stop consuming and write what is pending. Readings the store refuses stay on the disk
   * queue (replayed at next start); without a disk queue they are counted as dropped.
   */
  async stop(): Promise<StoreWriterStatus> {
    this.sub?.unsubscribe();
    this.stopping = true;
    await this.flush();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.spoolTimer) clearInterval(this.spoolTimer);
    this.spoolTimer = null;
    if (this.mem.length > 0) {
      if (this.disk) this.spillMemory();
      else {
        this.counts.droppedMemory += this.mem.length;
        this.takeMemory();
      }
    }
    await this.disk?.close();
    const status = this.status();
    this.status$.next(status);
    this.status$.complete();
    return status;
  }
}
