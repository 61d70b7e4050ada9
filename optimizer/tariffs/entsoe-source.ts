import { GridflexError } from '../../model/index.js';
import { OPT_ERRORS } from '../errors.js';
import { httpText } from '../http-text.js';
import { parseEntsoeA44 } from './entsoe.js';
import type { SpotPrice } from './spot.js';

/**
 * Day-ahead prices of one bidding zone from the ENTSO-E Transparency Platform's REST API
 * (reference tariffs-weather.md §1.1, §1.4), with the prices already known kept: a window
 * fetched less than `maxAgeMs` ago is answered from memory; when the platform fails (HTTP
 * error, timeout, a malformed document) the known prices of the window are returned with
 * `stale: true` and the reason, so the plan can say it used old prices. An acknowledgement
 * ("no matching data", e.g. tomorrow before ~13:00 CET) is not a failure of the source: the
 * known prices come back with the reason in `notice`. The token never appears in an error.
 */
export interface EntsoeSourceOptions {
  securityToken: string;
  /** Bidding-zone EIC, e.g. 10YCH-SWISSGRIDZ, 10YFI-1--------U. */
  zone: string;
  /** Default https://web-api.tp.entsoe.eu/api */
  baseUrl?: string;
  timeoutMs?: number;
  /** Refetch a window after this long (default 1 h: day-ahead prices change once a day). */
  maxAgeMs?: number;
  now: () => number;
}

export interface PriceReading {
  prices: SpotPrice[];
  stale: boolean;
  /** Why the prices are stale. */
  error?: string;
  /** The platform's acknowledgement text when it had no (new) data. */
  notice?: string;
}

const DAY_MS = 86_400_000;

/** yyyyMMddHHmm in UTC, as the API wants (evcc once sent local time: wrong day's prices). */
function apiTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace(/[-T:]/g, '');
}

export class EntsoePriceSource {
  readonly #o: EntsoeSourceOptions;
  /** Known prices by interval start. */
  readonly #known = new Map<number, SpotPrice>();
  readonly #fetchedAt = new Map<string, number>();

  constructor(options: EntsoeSourceOptions) {
    this.#o = options;
  }

  /**
   * The request for [fromMs, toMs), widened to whole UTC days and one day either side: a
   * zone's market day starts at 22:00 or 23:00 UTC, so the document for "today" begins the
   * evening before.
   */
  url(fromMs: number, toMs: number): string {
    const start = Math.floor(fromMs / DAY_MS) * DAY_MS - DAY_MS;
    const end = Math.ceil(toMs / DAY_MS) * DAY_MS + DAY_MS;
    const q = new URLSearchParams({
      securityToken: this.#o.securityToken,
      documentType: 'A44',
      in_Domain: this.#o.zone,
      out_Domain: this.#o.zone,
      'contract_MarketAgreement.type': 'A01',
      periodStart: apiTime(start),
      periodEnd: apiTime(end),
    });
    return `${this.#o.baseUrl ?? 'https://web-api.tp.entsoe.eu/api'}?${q}`;
  }

  /** The known and fetched prices overlapping [fromMs, toMs), sorted. */
  async get(fromMs: number, toMs: number): Promise<PriceReading> {
    const key = `${fromMs}-${toMs}`;
    const now = this.#o.now();
    const at = this.#fetchedAt.get(key);
    if (at !== undefined && now - at < (this.#o.maxAgeMs ?? 3_600_000))
      return { prices: this.#window(fromMs, toMs), stale: false };
    const what = `ENTSO-E day-ahead prices for ${this.#o.zone}`;
    try {
      const res = await httpText(this.url(fromMs, toMs), {
        timeoutMs: this.#o.timeoutMs ?? 30_000,
        what,
        code: OPT_ERRORS.priceSource,
      });
      let prices: SpotPrice[];
      try {
        prices = parseEntsoeA44(res.body);
      } catch (e) {
        const ack = (e as GridflexError).code === OPT_ERRORS.priceSource;
        if (res.ok && ack) {
          this.#fetchedAt.set(key, now);
          return { prices: this.#window(fromMs, toMs), stale: false, notice: (e as Error).message };
        }
        if (res.ok) throw e;
        // Rejections (bad token, too many requests) come as 4xx with an acknowledgement body.
        const why = ack ? `: ${(e as Error).message}` : '';
        throw new GridflexError(OPT_ERRORS.priceSource, `${what}: HTTP ${res.status}${why}`, {
          kind: 'unavailable',
        });
      }
      this.#remember(prices);
      this.#fetchedAt.set(key, now);
      return { prices: this.#window(fromMs, toMs), stale: false };
    } catch (e) {
      return { prices: this.#window(fromMs, toMs), stale: true, error: (e as Error).message };
    }
  }

  /** Newer prices replace every known one in the span they cover (a resolution may change). */
  #remember(prices: readonly SpotPrice[]): void {
    if (prices.length === 0) return;
    const from = prices[0]!.startMs;
    const to = prices.at(-1)!.endMs;
    for (const [start, p] of this.#known) if (p.endMs > from && start < to) this.#known.delete(start);
    for (const p of prices) this.#known.set(p.startMs, p);
  }

  #window(fromMs: number, toMs: number): SpotPrice[] {
    return [...this.#known.values()]
      .filter((p) => p.endMs > fromMs && p.startMs < toMs)
      .sort((a, b) => a.startMs - b.startMs);
  }
}
