import { createHash } from 'node:crypto';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { GridflexError, parseOrThrow } from '../model/index.js';
import { parseScaled } from './decimal.js';
import { LEDGER_ERRORS } from './errors.js';
import {
  addReading,
  Flag,
  QUARTER_MS,
  type ReadingCounts,
  type ReadingsBatch,
  seriesOf,
} from './readings.js';

/**
 * SDAT-CH load profiles (the Swiss ebIX-based metering-data exchange, namespace
 * http://www.strom.ch): `ValidatedMeteredData_NN` documents of type E66 with 15-minute
 * `MeteringData` blocks become our readings. Per block: the metering point
 * (`ConsumptionMeteringPoint` or `ProductionMeteringPoint` / `VSENationalID`) is the meter id,
 * `Interval/StartDateTime` + (`Sequence` − 1) × 15 min is the interval start, `Volume` (kWh)
 * the energy, and `Condition` 56 (estimated / substitute value) the `estimated` flag. Only the
 * active-energy product (ebIX 8716867000030) in KWH is read; other products (reactive energy,
 * the grid/community channels of a Swiss LEG) are skipped and counted. Condition 20 (not
 * available) leaves the interval out, so the gap rule applies to it as to a missing value.
 */
const ACTIVE_ENERGY = '8716867000030';
const ESTIMATED = '56';
const NOT_AVAILABLE = '20';

const Text = z.string().trim().min(1, 'is empty');
const Instant = z
  .string()
  .trim()
  .regex(
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/,
    'expected an ISO instant with Z or an offset',
  );
/** An element that holds a code either directly or in an `ebIXCode` / `VSENationalCode` child. */
const Code = z.union([
  Text,
  z.object({ ebIXCode: Text.optional(), VSENationalCode: Text.optional() }).transform((c, ctx) => {
    const code = c.ebIXCode ?? c.VSENationalCode;
    if (!code) {
      ctx.addIssue({ code: 'custom', message: 'has neither ebIXCode nor VSENationalCode' });
      return z.NEVER;
    }
    return code;
  }),
]);
const MeteringPoint = z.object({ VSENationalID: Text });

const ObservationSchema = z.object({
  Position: z.object({
    Sequence: z
      .string()
      .trim()
      .regex(/^[1-9]\d*$/, 'expected 1, 2, 3, …'),
  }),
  Volume: z
    .string()
    .trim()
    .regex(/^-?\d+(\.\d+)?$/, 'expected a decimal number of kWh')
    .optional(),
  Condition: z.string().trim().optional(),
});

const MeteringDataSchema = z
  .object({
    Interval: z.object({ StartDateTime: Instant, EndDateTime: Instant }),
    Resolution: z.object({
      Resolution: z.string().trim().regex(/^\d+$/, 'expected whole minutes'),
      Unit: z.string().trim().default('MIN'),
    }),
    ConsumptionMeteringPoint: MeteringPoint.optional(),
    ProductionMeteringPoint: MeteringPoint.optional(),
    Product: z.object({ ID: Code, MeasureUnit: Text }),
    Observation: z.array(ObservationSchema).min(1, 'has no Observation'),
  })
  .superRefine((b, ctx) => {
    if (!b.ConsumptionMeteringPoint === !b.ProductionMeteringPoint)
      ctx.addIssue({
        code: 'custom',
        path: ['ConsumptionMeteringPoint'],
        message: 'expected exactly one of ConsumptionMeteringPoint and ProductionMeteringPoint',
      });
    if (b.Resolution.Unit !== 'MIN' || b.Resolution.Resolution !== '15')
      ctx.addIssue({
        code: 'custom',
        path: ['Resolution'],
        message: `is ${b.Resolution.Resolution} ${b.Resolution.Unit}; only 15-minute load profiles (15 MIN) are billed`,
      });
  });

const DocumentSchema = z.object({
  ValidatedMeteredData_HeaderInformation: z.object({
    InstanceDocument: z.object({
      DocumentID: Text,
      DocumentType: Code.refine((c) => c === 'E66', {
        message: 'expected E66 (validated metered data); other SDAT documents are not readings',
      }),
    }),
  }),
  MeteringData: z.array(MeteringDataSchema).min(1, 'has no MeteringData block'),
});

const xml = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  // Keep every value as written: volumes are decimal strings, never floats.
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === 'MeteringData' || name === 'Observation',
});

export interface SdatDocument {
  /** The file name, for messages. */
  name: string;
  text: string;
}

export interface SdatBatch extends ReadingsBatch {
  /** MeteringData blocks of other products (reactive energy, LEG channels), not read. */
  skippedBlocks: number;
  /** Observations with Condition 20 (not available): left as gaps. */
  notAvailable: number;
}

function fail(doc: string, where: string, message: string): never {
  throw new GridflexError(LEDGER_ERRORS.SDAT, `${doc}: ${where}: ${message}`, {
    kind: 'input',
    details: { file: doc, element: where },
  });
}

/**
 * One batch from one or more SDAT-CH documents (a DSO sends one per metering point and month).
 * A value given twice identically is a duplicate; given twice differently, the import is
 * refused with both places named. The batch's SHA-256 covers every document's bytes, in order
 * of name, so re-importing the same set is recognised.
 */
export function parseSdatCh(documents: readonly SdatDocument[]): SdatBatch {
  const hash = createHash('sha256');
  for (const d of [...documents].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))
    hash.update(createHash('sha256').update(d.text).digest());
  const meters = new Map<string, Map<number, [number, number]>>();
  const origin = new Map<string, string>();
  const counts: ReadingCounts = { rows: 0, duplicates: 0, clamped: 0 };
  let skippedBlocks = 0;
  let notAvailable = 0;
  for (const d of documents) {
    let tree: Record<string, unknown>;
    try {
      tree = xml.parse(d.text, true) as Record<string, unknown>;
    } catch (err) {
      fail(d.name, 'XML', (err as Error).message);
    }
    const rootName = Object.keys(tree).find((k) => k !== '?xml');
    if (!rootName || !/^ValidatedMeteredData(_\d+)?$/.test(rootName))
      fail(d.name, rootName ?? '(root)', 'expected a ValidatedMeteredData document (SDAT-CH E66)');
    const doc = parseOrThrow(
      DocumentSchema,
      tree[rootName],
      `${d.name} (SDAT-CH ${rootName})`,
      LEDGER_ERRORS.SDAT,
    );
    const ids = new Map<string, Set<string>>();
    for (const b of doc.MeteringData) {
      const consumption = b.ConsumptionMeteringPoint?.VSENationalID;
      const id = (consumption ?? b.ProductionMeteringPoint?.VSENationalID)!;
      const dirs = ids.get(id) ?? new Set<string>();
      dirs.add(consumption ? 'consumption' : 'production');
      ids.set(id, dirs);
    }
    doc.MeteringData.forEach((b, bi) => {
      const where = `MeteringData[${bi}]`;
      if (b.Product.ID !== ACTIVE_ENERGY) {
        skippedBlocks++;
        return;
      }
      if (b.Product.MeasureUnit.toUpperCase() !== 'KWH')
        fail(d.name, `${where}.Product.MeasureUnit`, `is ${b.Product.MeasureUnit}; expected KWH`);
      const consumption = b.ConsumptionMeteringPoint?.VSENationalID;
      const id = (consumption ?? b.ProductionMeteringPoint?.VSENationalID)!;
      // A prosumer's point may come in both directions under one id: export gets a suffix.
      const meter = !consumption && ids.get(id)!.size > 1 ? `${id}-export` : id;
      const start = Date.parse(b.Interval.StartDateTime);
      const end = Date.parse(b.Interval.EndDateTime);
      if (start % QUARTER_MS !== 0)
        fail(
          d.name,
          `${where}.Interval.StartDateTime`,
          `${b.Interval.StartDateTime} is not on a quarter-hour`,
        );
      if (!(end > start) || (end - start) % QUARTER_MS !== 0)
        fail(
          d.name,
          `${where}.Interval.EndDateTime`,
          'must be a whole number of quarter-hours after the start',
        );
      const slots = (end - start) / QUARTER_MS;
      const series = seriesOf(meters, meter);
      b.Observation.forEach((o, oi) => {
        const at = `${where}.Observation[${oi}]`;
        const seq = Number(o.Position.Sequence);
        if (seq > slots)
          fail(d.name, `${at}.Position.Sequence`, `${seq} is past the interval's ${slots} quarter-hours`);
        if (o.Condition === NOT_AVAILABLE) {
          notAvailable++;
          return;
        }
        if (o.Volume === undefined) fail(d.name, `${at}.Volume`, 'is missing');
        const mWh = parseScaled(o.Volume, 6, `${d.name}: ${at}.Volume`);
        const flag = o.Condition === ESTIMATED ? Flag.sourceEstimated : Flag.measured;
        const t = start + (seq - 1) * QUARTER_MS;
        const added = addReading(series, t, mWh, flag, counts, (prevMwh) =>
          fail(
            d.name,
            `${at}.Volume`,
            `${meter} at ${new Date(t).toISOString()} was already given as ${prevMwh} mWh (${origin.get(`${meter}@${t}`)}); the data contradict each other`,
          ),
        );
        if (added) origin.set(`${meter}@${t}`, `${d.name} ${at}`);
      });
    });
  }
  return { meters, ...counts, sha256: hash.digest('hex'), skippedBlocks, notAvailable };
}
