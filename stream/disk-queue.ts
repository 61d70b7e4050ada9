import { type FileHandle, mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reading } from '../model/index.js';

/**
 * A durable FIFO of reading batches in append-only segment files, for when the store (or
 * the uplink) is down. Each line is `<count>\t<json>` where json is `[[pointId, ts, value,
 * quality], …]`. Appends are fsynced before they resolve. A consumer `peek`s the oldest
 * batch and `ack`s it once stored; after a crash, at most the unacknowledged batch is
 * delivered again, which idempotent ingest absorbs.
 *
 * Bound: `maxBytes` in total. Past it, the oldest segment is deleted and its readings are
 * counted in `dropped` (as Telegraf's metric buffer does): recent data is worth more to a
 * controller than the oldest, and an unbounded buffer would fill the edge device's disk.
 */
export interface DiskQueueOptions {
  /** Total size bound. Default 256 MiB. */
  maxBytes?: number;
  /** A segment is sealed past this size. Default 4 MiB. */
  segmentBytes?: number;
}

interface Segment {
  seq: number;
  bytes: number;
  /** Reading count of each line, in order. */
  lines: number[];
}

const QUALITY = ['good', 'uncertain', 'bad'] as const;
type Row = [string, number, number | null, 0 | 1 | 2];

function encode(batch: readonly Reading[]): string {
  const rows: Row[] = batch.map((r) => [r.pointId, r.ts, r.value, QUALITY.indexOf(r.quality) as 0 | 1 | 2]);
  return `${batch.length}\t${JSON.stringify(rows)}\n`;
}

function decode(line: string): Reading[] {
  const rows = JSON.parse(line.slice(line.indexOf('\t') + 1)) as Row[];
  return rows.map(([pointId, ts, value, q]) => ({ pointId, ts, value, quality: QUALITY[q] }));
}

const segName = (seq: number) => `${String(seq).padStart(12, '0')}.seg`;

export class DiskQueue {
  private readonly segments: Segment[] = [];
  private cursorLine = 0;
  /** Batches returned by the last `peek` (what `ack` acknowledges). */
  private peeked = 0;
  private active: FileHandle | null = null;
  private cache: { seq: number; lines: string[] } | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private _pendingReadings = 0;
  private _pendingBatches = 0;
  private _bytes = 0;
  private _dropped = 0;
  /** Highest segment number ever used; new segments always get a higher one. */
  private lastSeq = 0;

  private constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly segmentBytes: number,
  ) {}

  static async open(dir: string, options: DiskQueueOptions = {}): Promise<DiskQueue> {
    await mkdir(dir, { recursive: true });
    const q = new DiskQueue(
      dir,
      options.maxBytes ?? 256 * 1024 * 1024,
      options.segmentBytes ?? 4 * 1024 * 1024,
    );
    await q.load();
    return q;
  }

  /** Readings waiting on disk. */
  get pendingReadings(): number {
    return this._pendingReadings;
  }
  get pendingBatches(): number {
    return this._pendingBatches;
  }
  get bytes(): number {
    return this._bytes;
  }
  /** Readings deleted because the bound was reached (since this queue was opened). */
  get dropped(): number {
    return this._dropped;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }

  private async load(): Promise<void> {
    const files = (await readdir(this.dir)).filter((f) => f.endsWith('.seg')).sort();
    let cursor = { seq: -1, line: 0 };
    try {
      cursor = JSON.parse(await readFile(join(this.dir, 'cursor.json'), 'utf8'));
    } catch {
      // No cursor yet: start at the oldest segment.
    }
    for (const file of files) {
      const seq = Number(file.slice(0, -4));
      const text = await readFile(join(this.dir, file), 'utf8');
      // A crash mid-append can leave a partial last line; it was never acknowledged to the writer.
      const complete = text.slice(0, text.lastIndexOf('\n') + 1);
      const lines =
        complete === ''
          ? []
          : complete
              .slice(0, -1)
              .split('\n')
              .map((l) => Number(l.slice(0, l.indexOf('\t'))));
      if (seq < cursor.seq) {
        await rm(join(this.dir, file), { force: true });
        continue;
      }
      this.segments.push({ seq, bytes: Buffer.byteLength(complete), lines });
      this._bytes += Buffer.byteLength(complete);
      const skip = seq === cursor.seq ? cursor.line : 0;
      lines.forEach((n, i) => {
        if (i >= skip) {
          this._pendingReadings += n;
          this._pendingBatches += 1;
        }
      });
      if (complete.length !== text.length) await writeFile(join(this.dir, file), complete);
    }
    this.cursorLine = this.segments[0]?.seq === cursor.seq ? cursor.line : 0;
    this.lastSeq = Math.max(cursor.seq - 1, this.segments.at(-1)?.seq ?? 0);
  }

  /** Append a batch; resolves once it is on disk. */
  append(batch: readonly Reading[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    const line = encode(batch);
    const size = Buffer.byteLength(line);
    this._pendingReadings += batch.length;
    this._pendingBatches += 1;
    return this.serial(async () => {
      while (this._bytes + size > this.maxBytes && this.segments.length > 0) await this.dropOldest();
      let seg = this.segments.at(-1);
      if (!seg || !this.active || seg.bytes >= this.segmentBytes) {
        await this.active?.close();
        this.lastSeq += 1;
        seg = { seq: this.lastSeq, bytes: 0, lines: [] };
        this.segments.push(seg);
        this.active = await open(join(this.dir, segName(seg.seq)), 'a');
      }
      await this.active.write(line);
      await this.active.datasync();
      seg.bytes += size;
      seg.lines.push(batch.length);
      this._bytes += size;
    });
  }

  private async dropOldest(): Promise<void> {
    const seg = this.segments.shift()!;
    if (this.segments.length === 0) {
      await this.active?.close();
      this.active = null;
    }
    const first = this.cursorLine;
    seg.lines.forEach((n, i) => {
      if (i >= first) {
        this._dropped += n;
        this._pendingReadings -= n;
        this._pendingBatches -= 1;
      }
    });
    this._bytes -= seg.bytes;
    this.cursorLine = 0;
    this.peeked = 0;
    this.cache = null;
    await rm(join(this.dir, segName(seg.seq)), { force: true });
    await this.saveCursor();
  }

  /**
   * The oldest batch not yet acknowledged, or null when the queue is empty. With `maxReadings`,
   * following batches of the same segment are joined to it while the total stays within it
   * (replaying many small spooled batches in one store write); `ack` takes them all.
   */
  peek(maxReadings = 0): Promise<Reading[] | null> {
    return this.serial(async () => {
      const seg = this.segments[0];
      this.peeked = 0;
      if (!seg || this.cursorLine >= seg.lines.length) return null;
      if (!this.cache || this.cache.seq !== seg.seq || this.cursorLine >= this.cache.lines.length) {
        const text = await readFile(join(this.dir, segName(seg.seq)), 'utf8');
        this.cache = { seq: seg.seq, lines: text.split('\n').slice(0, seg.lines.length) };
      }
      const out = decode(this.cache.lines[this.cursorLine]!);
      let line = this.cursorLine + 1;
      const cached = Math.min(seg.lines.length, this.cache.lines.length);
      while (line < cached && out.length + seg.lines[line]! <= maxReadings) {
        out.push(...decode(this.cache.lines[line]!));
        line += 1;
      }
      this.peeked = line - this.cursorLine;
      return out;
    });
  }

  /** Acknowledge the batches returned by the last `peek`. */
  ack(): Promise<void> {
    return this.serial(async () => {
      const seg = this.segments[0];
      const count = this.peeked;
      this.peeked = 0;
      // Nothing peeked, or the peeked segment was dropped for the size bound meanwhile.
      if (count === 0 || !seg || this.cursorLine >= seg.lines.length) return;
      for (let i = 0; i < count && this.cursorLine < seg.lines.length; i++) {
        this._pendingReadings -= seg.lines[this.cursorLine]!;
        this._pendingBatches -= 1;
        this.cursorLine += 1;
      }
      if (this.cursorLine >= seg.lines.length) {
        if (this.segments.length === 1) {
          await this.active?.close();
          this.active = null;
        }
        this.segments.shift();
        this._bytes -= seg.bytes;
        this.cursorLine = 0;
        this.cache = null;
        await rm(join(this.dir, segName(seg.seq)), { force: true });
      }
      await this.saveCursor();
    });
  }

  private async saveCursor(): Promise<void> {
    // With no segment left, point at the next one to be created so numbering never goes backwards.
    const seq = this.segments[0]?.seq ?? this.lastSeq + 1;
    await writeFile(join(this.dir, 'cursor.json'), JSON.stringify({ seq, line: this.cursorLine }));
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      await this.active?.close();
      this.active = null;
    });
  }
}
