import { z } from 'zod';
import { GridflexError, IdSchema } from '../model/index.js';
import type { Obligation } from './bids.js';
import { MARKET_ERRORS } from './errors.js';
import type { Product } from './product.js';
import { proportional, toKw, toW } from './shares.js';

/**
 * An activation the operator sends for a signal product (aFRR, mFRR, DR event); the operator
 * API will map OpenADR 3 events and Nordic activation documents onto it.
 */
export const ActivationRequestSchema = z.object({
  /** The operator's id; a repeated id must be answered idempotently by the API. */
  id: z.string().min(1).max(200),
  productId: IdSchema,
  /** Required for symmetric products, else it must match the product. */
  direction: z.enum(['up', 'down']).optional(),
  /** When the change is ordered (the ramp may start), ms since epoch UTC. */
  startMs: z.number().int(),
  durationMs: z.number().int().positive(),
  kw: z.number().positive(),
});
export type ActivationRequest = z.infer<typeof ActivationRequestSchema>;

export interface ActivationPlan {
  id: string;
  productId: string;
  direction: 'up' | 'down';
  startMs: number;
  /** When the full change is due: start + preparation-inclusive full-activation time. */
  fullByMs: number;
  endMs: number;
  kw: number;
  /** Each site's part, in proportion to what it holds under the obligations. */
  sites: { siteId: string; kw: number }[];
  /** Accepted but worth telling the operator (e.g. longer than the reserve was sized for). */
  warnings: string[];
}

/**
 * Check an activation against the product and the obligations in force at its start, and
 * split it over the sites that hold them. `running` are the open activations: with this one they
 * may not claim more than is held. Anything out of bounds is refused whole
 * (`GFX_MARKET_ACTIVATION`, 422, every problem in `details.problems`): nothing is dispatched
 * from a request the portfolio did not commit to.
 */
export function planActivation(
  request: ActivationRequest,
  product: Product,
  obligations: Obligation[],
  running: readonly ActivationPlan[] = [],
): ActivationPlan {
  const problems: string[] = [];
  let left: { obligations: string[]; leftKw: number } | undefined;
  if (request.productId !== product.id)
    problems.push(`productId: request is for ${request.productId}, not ${product.id}`);
  if (product.activation.kind !== 'operator_signal')
    problems.push(`productId: ${product.id} is activated by local frequency, not by the operator`);
  let direction: 'up' | 'down' | undefined = request.direction;
  if (product.direction === 'symmetric') {
    if (!direction) problems.push(`direction: required for the symmetric product ${product.id}`);
  } else if (direction && direction !== product.direction)
    problems.push(`direction: ${product.id} is ${product.direction} only`);
  else direction = product.direction;

  const holding = obligations.filter(
    (o) =>
      o.productId === product.id &&
      o.startMs <= request.startMs &&
      request.startMs < o.endMs &&
      (o.direction === 'symmetric' || o.direction === direction),
  );
  const heldW = holding.reduce((a, o) => a + toW(o.kw), 0);
  const askedW = toW(request.kw);
  if (holding.length === 0)
    problems.push(
      `startMs: no ${product.id} obligation in force at ${new Date(request.startMs).toISOString()}`,
    );
  else if (askedW > heldW) problems.push(`kw: ${request.kw} kW is more than the ${toKw(heldW)} kW held`);
  else {
    // Activations of the same obligation that overlap this one share what is held: their sum
    // never exceeds it, so two requests cannot both claim the same kW.
    const endMs = request.startMs + request.durationMs;
    const sharing = running.filter(
      (r) =>
        r.id !== request.id &&
        r.productId === product.id &&
        r.direction === direction &&
        r.startMs < endMs &&
        request.startMs < r.endMs,
    );
    const usedW = sharing.reduce((a, r) => a + toW(r.kw), 0);
    if (askedW > heldW - usedW) {
      const ids = holding.map((o) => o.id);
      left = { obligations: ids, leftKw: toKw(Math.max(0, heldW - usedW)) };
      problems.push(
        `kw: ${request.kw} kW is more than the ${left.leftKw} kW left of obligation ${ids.join(' + ')} ` +
          `(${toKw(heldW)} kW held, ${toKw(usedW)} kW taken by ${sharing.map((r) => r.id).join(', ')})`,
      );
    }
  }
  if (problems.length > 0)
    throw new GridflexError(MARKET_ERRORS.ACTIVATION, `activation ${request.id} refused: ${problems[0]}`, {
      kind: 'input',
      details: { problems, ...left },
    });

  const siteW = new Map<string, number>();
  for (const o of holding)
    for (const s of o.sites) siteW.set(s.siteId, (siteW.get(s.siteId) ?? 0) + toW(s.kw));
  const warnings: string[] = [];
  const sustainMs = Math.min(...holding.map((o) => o.sustainMs));
  if (request.durationMs > sustainMs)
    warnings.push(
      `durationMs: ${request.durationMs / 60_000} min is longer than the ${sustainMs / 60_000} min the reserve was sized for`,
    );
  return {
    id: request.id,
    productId: product.id,
    direction: direction!,
    startMs: request.startMs,
    fullByMs: request.startMs + product.fullActivation,
    endMs: request.startMs + request.durationMs,
    kw: request.kw,
    sites: proportional(askedW, siteW).map(([siteId, w]) => ({ siteId, kw: toKw(w) })),
    warnings,
  };
}
