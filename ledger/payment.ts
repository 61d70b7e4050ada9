import { calculateSCORReferenceChecksum, formatIBAN, formatSCORReference } from 'swissqrbill/utils';
import { lazyRequire } from '../config/lazy-require.js';
import type { Bill } from './billing.js';
import type { IssuerConfig } from './community.js';

// The SVG renderer (swissqrbill/svg and its svg-engine, about 60 modules) is loaded when the
// first payment part is drawn, not at import: the ledger is imported at every start.
const swissQrSvg = lazyRequire<typeof import('swissqrbill/svg')>('swissqrbill/svg');

/**
 * How a resident pays a bill: an ISO 11649 creditor reference (`RF…`, valid for Swiss QR-bills
 * with an ordinary IBAN and for SEPA transfers alike) and, for CHF communities, the Swiss
 * QR-bill payment part drawn by `swissqrbill` (SIX Implementation Guidelines 2.x), not by hand.
 */

/** The creditor reference of a bill: `RF` + check digits + period and unit (unique per community). */
export function creditorReference(bill: Pick<Bill, 'period' | 'recipient'>): string {
  const payload = `${bill.period}${bill.recipient.unit}`
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')
    .slice(0, 21);
  return `RF${calculateSCORReferenceChecksum(payload)}${payload}`;
}

export const formatReference = (ref: string): string => formatSCORReference(ref);
export const formatIban = (iban: string): string => formatIBAN(iban);

/** The payment part (SVG, 210 × 105 mm) of a CHF bill; null for other currencies. */
export function qrBillSvg(
  bill: Pick<Bill, 'period' | 'recipient' | 'currency' | 'totalMinor' | 'id'>,
  issuer: { name: string; config: IssuerConfig },
  language: 'EN' | 'DE' = 'EN',
): string | null {
  if (bill.currency !== 'CHF') return null;
  const a = issuer.config;
  const svg = new (swissQrSvg().SwissQRBill)(
    {
      currency: 'CHF',
      amount: bill.totalMinor / 100,
      reference: creditorReference(bill),
      message: `Electricity ${bill.period}, bill ${bill.id}`.slice(0, 140),
      creditor: {
        account: a.iban,
        name: issuer.name.slice(0, 70),
        address: a.street,
        ...(a.buildingNumber ? { buildingNumber: a.buildingNumber } : {}),
        zip: a.postalCode,
        city: a.city,
        country: a.country,
      },
    },
    { language },
  );
  return svg.toString();
}
