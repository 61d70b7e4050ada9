import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadConfigFile } from '../config/load.js';
import { DurationSchema, GridflexError, IdSchema } from '../model/index.js';
import { MARKET_ERRORS } from './errors.js';

/**
 * Sign convention used throughout market/: **up** is more power towards the grid (less
 * consumption or more generation), **down** is less power towards the grid.
 */
export const DirectionSchema = z.enum(['up', 'down', 'symmetric']);
export type Direction = z.infer<typeof DirectionSchema>;

const hz = z.number().min(45).max(55);

/** One side of a linear droop: response starts past `startHz` and is full at `fullHz`. */
const DroopBandSchema = z.object({ startHz: hz, fullHz: hz });

/**
 * Local linear droop (FCR-N, FCR-D). Frequencies within `deadbandHz` of nominal give no
 * response; outside it the response follows the line from `startHz` (0 %) to `fullHz`
 * (100 %) without shifting it, which is how the TSOs write the expected response.
 */
export const DroopActivationSchema = z.object({
  kind: z.literal('frequency_droop'),
  nominalHz: hz.default(50),
  deadbandHz: z.number().min(0).max(0.5).default(0),
  /** Under-frequency side: raise power towards the grid. */
  up: DroopBandSchema.optional(),
  /** Over-frequency side: lower power towards the grid. */
  down: DroopBandSchema.optional(),
});

/**
 * Local threshold trigger (FFR): the provider picks one trigger frequency at prequalification;
 * each trigger has its own full-activation time.
 */
export const ThresholdActivationSchema = z.object({
  kind: z.literal('frequency_threshold'),
  nominalHz: hz.default(50),
  triggers: z.array(z.object({ hz, fullActivation: DurationSchema })).min(1),
  /** After the support duration, power may fall by at most this share of capacity per second. */
  maxDeactivationPerSecond: z.number().gt(0).max(1),
});

/** Activation by a message or setpoint from the operator (aFRR, mFRR, DR events). */
export const SignalActivationSchema = z.object({
  kind: z.literal('operator_signal'),
  signal: z.enum(['setpoint_stream', 'activation_message', 'event']),
  /** Time before the ramp must start (mFRR: 2.5 min of the 12.5). */
  preparation: DurationSchema.optional(),
  /** Deadline to acknowledge the request (mFRR: 2 min). */
  responseDeadline: DurationSchema.optional(),
});

export const ActivationSchema = z.discriminatedUnion('kind', [
  DroopActivationSchema,
  ThresholdActivationSchema,
  SignalActivationSchema,
]);
export type Activation = z.infer<typeof ActivationSchema>;

/** "At least `fraction` of the requested change within `within` of the trigger". */
const StepSchema = z.object({ within: DurationSchema, fraction: z.number().gt(0).max(1) });

export const BaselineMethodSchema = z.enum(['meter_before', 'x_of_y']);

export const ProductSchema = z
  .object({
    id: IdSchema,
    name: z.string().min(1),
    direction: DirectionSchema,
    activation: ActivationSchema,
    /** Time from the trigger to 100 % of the requested change. */
    fullActivation: DurationSchema,
    /** Partial activation deadlines; the last one is 100 % at `fullActivation`. Defaults to that alone. */
    steps: z.array(StepSchema).min(1).optional(),
    /** How long a full activation must be sustainable (the endurance availability is sized for). */
    minDuration: DurationSchema,
    minBidKw: z.number().positive(),
    maxBidKw: z.number().positive().optional(),
    /** Bid quantities are multiples of this. */
    bidStepKw: z.number().positive(),
    /** Length of one capacity bid (market time unit). */
    bidPeriod: DurationSchema,
    /** Resolution of the power measurements the proof of delivery needs. */
    measurementResolution: DurationSchema,
    baseline: BaselineMethodSchema,
  })
  .superRefine((p, ctx) => {
    const a = p.activation;
    if (a.kind === 'frequency_droop') {
      const wantUp = p.direction !== 'down';
      const wantDown = p.direction !== 'up';
      if (wantUp !== (a.up !== undefined))
        ctx.addIssue({
          code: 'custom',
          path: ['activation', 'up'],
          message: wantUp ? `a ${p.direction} product needs an up band` : 'a down product has no up band',
        });
      if (wantDown !== (a.down !== undefined))
        ctx.addIssue({
          code: 'custom',
          path: ['activation', 'down'],
          message: wantDown ? `a ${p.direction} product needs a down band` : 'an up product has no down band',
        });
      if (a.up && !(a.up.fullHz < a.up.startHz && a.up.startHz <= a.nominalHz))
        ctx.addIssue({
          code: 'custom',
          path: ['activation', 'up', 'fullHz'],
          message: 'the up band must lie below nominal: fullHz < startHz <= nominalHz',
        });
      if (a.down && !(a.down.fullHz > a.down.startHz && a.down.startHz >= a.nominalHz))
        ctx.addIssue({
          code: 'custom',
          path: ['activation', 'down', 'fullHz'],
          message: 'the down band must lie above nominal: nominalHz <= startHz < fullHz',
        });
    }
    if (a.kind === 'frequency_threshold') {
      a.triggers.forEach((t, i) => {
        if (t.hz >= a.nominalHz)
          ctx.addIssue({
            code: 'custom',
            path: ['activation', 'triggers', i, 'hz'],
            message: 'an under-frequency trigger must lie below nominal',
          });
        if (t.fullActivation > p.fullActivation)
          ctx.addIssue({
            code: 'custom',
            path: ['activation', 'triggers', i, 'fullActivation'],
            message: 'a trigger cannot be slower than the product fullActivation',
          });
      });
    }
    if (p.maxBidKw !== undefined && p.maxBidKw < p.minBidKw)
      ctx.addIssue({ code: 'custom', path: ['maxBidKw'], message: 'maxBidKw must not be below minBidKw' });
    if (p.maxBidKw !== undefined && !isMultiple(p.maxBidKw, p.bidStepKw))
      ctx.addIssue({
        code: 'custom',
        path: ['maxBidKw'],
        message: 'maxBidKw must be a multiple of bidStepKw',
      });
    if (!isMultiple(p.minBidKw, p.bidStepKw))
      ctx.addIssue({
        code: 'custom',
        path: ['minBidKw'],
        message: 'minBidKw must be a multiple of bidStepKw',
      });
    if (p.steps) {
      p.steps.forEach((s, i) => {
        const prev = p.steps![i - 1];
        if (prev && !(s.within > prev.within && s.fraction > prev.fraction))
          ctx.addIssue({
            code: 'custom',
            path: ['steps', i],
            message: 'steps must rise in both time and fraction',
          });
      });
      const last = p.steps.at(-1)!;
      if (last.fraction !== 1 || last.within !== p.fullActivation)
        ctx.addIssue({
          code: 'custom',
          path: ['steps', p.steps.length - 1],
          message: 'the last step must be fraction 1 within fullActivation',
        });
    }
  })
  .transform((p) => ({ ...p, steps: p.steps ?? [{ within: p.fullActivation, fraction: 1 }] }));
export type Product = z.infer<typeof ProductSchema>;

function isMultiple(value: number, step: number): boolean {
  const n = value / step;
  return Math.abs(n - Math.round(n)) < 1e-9;
}

export const ProductCatalogSchema = z
  .object({ products: z.array(ProductSchema).min(1) })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.products.forEach((p, i) => {
      if (seen.has(p.id))
        ctx.addIssue({
          code: 'custom',
          path: ['products', i, 'id'],
          message: `duplicate product id ${p.id}`,
        });
      seen.add(p.id);
    });
  });
export type ProductCatalog = z.infer<typeof ProductCatalogSchema>;

/** The shipped catalogue (Nordic/ENTSO-E products and a DR event product). */
export const DEFAULT_PRODUCTS_FILE = fileURLToPath(new URL('./products.yaml', import.meta.url));

export async function loadProducts(path: string = DEFAULT_PRODUCTS_FILE): Promise<ProductCatalog> {
  return loadConfigFile(ProductCatalogSchema, path);
}

export function findProduct(catalog: ProductCatalog, id: string): Product {
  const product = catalog.products.find((p) => p.id === id);
  if (!product)
    throw new GridflexError(MARKET_ERRORS.UNKNOWN_PRODUCT, `unknown market product "${id}"`, {
      kind: 'not_found',
      details: { product: id, known: catalog.products.map((p) => p.id) },
    });
  return product;
}
