import type { Bill, Billing, Summary } from './billing.js';
import type { IssuerConfig } from './community.js';
import { formatScaled, kwh, money } from './decimal.js';
import type { IssuedBill } from './issue.js';
import { creditorReference, formatIban, formatReference, qrBillSvg } from './payment.js';
import { QUARTER_MS } from './readings.js';
import { roundHalfUp } from './rounding.js';
import { formatLocal } from './time.js';

/**
 * Bills and exports as text: JSON (the issued document), CSV (bill lines; the 15-minute
 * allocation for the association) and HTML (one self-contained page per bill, readable on a
 * phone and printable). Times are shown in the community's local time.
 */
const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const pricePerKwh = (micro: string) => formatScaled(BigInt(micro), 6, 4);
const percentBp = (bp: number) => formatScaled(bp, 2, 1);

/**
 * The one rounding rule for every percentage shown (web, PDF, HTML, CSV, CLI): tenths of a
 * percent, rounded half up from the exact energies (never from already-rounded basis points).
 */
export function percentTenths(part: number | bigint, whole: number | bigint): number {
  const p = BigInt(part);
  const w = BigInt(whole);
  if (w <= 0n || p <= 0n) return 0;
  return Number((p * 2000n + w) / (2n * w));
}
/** `123` → "12.3 %". */
export const formatPercent = (tenths: number): string => `${formatScaled(tenths, 1, 1)} %`;

/** The community as the bills' issuer: its name and, when configured, address and bank account. */
export interface BillIssuer {
  name: string;
  config?: IssuerConfig | undefined;
}

/** How a bill is shown: by whom it is read (`own`: the resident's own bill) and who issued it. */
export interface BillView {
  issuer?: BillIssuer | undefined;
  /** False when someone other than the resident (board, admin) looks: no "Your saving". */
  own?: boolean;
}

/** The figures every rendering of a bill shows, computed once so that they agree everywhere. */
export interface BillFigures {
  /** The bill number (the ledger's bill id). */
  number: string;
  /** Local date the bill was issued (its signed checkpoint), and when it is due. */
  issuedOn: string | null;
  dueOn: string | null;
  /** The same consumption from the grid alone, on the bill's basis: grid energy + the same fees + VAT. */
  gridAloneMinor: number;
  savingMinor: number;
  selfSufficiencyTenths: number;
  /** ISO 11649 creditor reference (QR-bill and SEPA). */
  reference: string;
}

export const GRID_ALONE_METHOD =
  'Grid alone: your whole consumption priced at the grid tariff of each quarter-hour, plus the same fees and VAT as this bill.';

const DAY_MS = 86_400_000;
const localDate = (ms: number, tz: string) =>
  new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(ms);

export function billFigures(bill: Bill | IssuedBill, issuer?: IssuerConfig): BillFigures {
  const fees = bill.lines.filter((l) => l.kind === 'fee').reduce((s, l) => s + BigInt(l.amountMinor), 0n);
  const vatLines = bill.lines.filter((l) => l.kind === 'vat');
  const net = BigInt(bill.gridOnlyMinor) + fees;
  // One VAT rate (the usual case): that rate on the grid-alone net. Several rates (a tariff
  // change inside the month): the bill's own effective rate, so the basis stays the same.
  const rates = new Set(vatLines.map((l) => l.unitPrice));
  let vat = 0n;
  if (rates.size === 1) vat = roundHalfUp(net * BigInt(vatLines[0]!.unitPrice), 10_000n);
  else if (rates.size > 1 && bill.netMinor > 0)
    vat = roundHalfUp(net * BigInt(bill.vatMinor), BigInt(bill.netMinor));
  const gridAlone = net + vat;
  const cp = 'checkpoint' in bill ? (bill as IssuedBill).checkpoint : undefined;
  const signedAt = cp && 'signedAt' in cp ? (cp as { signedAt: string }).signedAt : null;
  const issuedMs = signedAt === null ? null : Date.parse(signedAt);
  const tz = bill.timezone ?? 'UTC';
  return {
    number: bill.id,
    issuedOn: issuedMs === null ? null : localDate(issuedMs, tz),
    dueOn: issuedMs === null ? null : localDate(issuedMs + (issuer?.paymentTermDays ?? 30) * DAY_MS, tz),
    gridAloneMinor: Number(gridAlone),
    savingMinor: Number(gridAlone) - bill.totalMinor,
    selfSufficiencyTenths: percentTenths(bill.energy.solarMwh, bill.energy.consumptionMwh),
    reference: creditorReference(bill),
  };
}

export function billJson(bill: IssuedBill): string {
  return `${JSON.stringify(bill, null, 2)}\n`;
}

export function billCsv(bill: Bill | IssuedBill, view: BillView = {}): string {
  const f = billFigures(bill, view.issuer?.config);
  const rows = [
    ['kind', 'label', 'tariff_version', 'kwh', 'unit_price', `amount_${bill.currency.toLowerCase()}`],
  ];
  for (const l of bill.lines)
    rows.push([
      l.kind,
      l.label,
      l.tariffVersion,
      l.kind === 'fee' || l.kind === 'vat' ? '' : kwh(l.mWh, 6),
      l.kind === 'vat'
        ? `${percentBp(Number(l.unitPrice))} %`
        : l.kind === 'fee'
          ? money(BigInt(l.unitPrice))
          : pricePerKwh(l.unitPrice),
      money(l.amountMinor),
    ]);
  rows.push(['total', 'Total', '', '', '', money(bill.totalMinor)]);
  rows.push(['consumption', 'Consumption', '', kwh(bill.energy.consumptionMwh), '', '']);
  rows.push(['solar_share', 'Solar from the building', '', kwh(bill.energy.solarMwh), '', '']);
  rows.push(['self_sufficiency', 'Self-sufficiency', '', '', formatPercent(f.selfSufficiencyTenths), '']);
  rows.push(['grid_alone', GRID_ALONE_METHOD, '', '', '', money(f.gridAloneMinor)]);
  rows.push([
    'saving',
    view.own === false ? 'Saving of this flat' : 'Your saving',
    '',
    '',
    '',
    money(f.savingMinor),
  ]);
  rows.push(['bill_number', f.number, '', '', '', '']);
  if (f.dueOn) rows.push(['due_date', f.dueOn, '', '', '', '']);
  rows.push(['reference', f.reference, '', '', '', '']);
  return `${rows.map((r) => r.map(csvCell).join(',')).join('\n')}\n`;
}

/** One row per interval and unit: the association's audit export (not for residents: it shows everyone). */
export function allocationCsv(billing: Billing, units: readonly string[], tz: string): string {
  const { startMs, production, exported, consumption, solar, flags } = billing.intervals;
  const n = units.length;
  const out = [
    'start_utc,start_local,unit,consumption_kwh,solar_kwh,grid_kwh,estimated,pool_production_kwh,pool_exported_kwh',
  ];
  const quality = ['', 'source', 'estimated', 'clamped'];
  for (let t = 0; t < production.length; t++) {
    const ms = startMs + t * QUARTER_MS;
    const utc = new Date(ms).toISOString();
    const local = formatLocal(ms, tz);
    for (let i = 0; i < n; i++) {
      const c = consumption[t * n + i]!;
      const a = solar[t * n + i]!;
      out.push(
        [
          utc,
          local,
          units[i]!,
          kwh(c, 6),
          kwh(a, 6),
          kwh(c - a, 6),
          quality[flags[t * n + i]!],
          kwh(production[t]!, 6),
          kwh(exported[t]!, 6),
        ].join(','),
      );
    }
  }
  return `${out.join('\n')}\n`;
}

function dailyChart(bill: Bill): string {
  const days = bill.daily;
  const max = Math.max(1, ...days.map((d) => d.solarMwh + d.gridMwh));
  const w = 600;
  const h = 160;
  const bw = w / Math.max(days.length, 1);
  const bars = days
    .map((d, i) => {
      const hs = (d.solarMwh / max) * (h - 20);
      const hg = (d.gridMwh / max) * (h - 20);
      const x = (i * bw + 1).toFixed(1);
      const wd = Math.max(bw - 2, 1).toFixed(1);
      return `<g><title>${esc(d.date)}: solar ${kwh(d.solarMwh)} kWh, grid ${kwh(d.gridMwh)} kWh</title><rect x="${x}" y="${(h - hs).toFixed(1)}" width="${wd}" height="${hs.toFixed(1)}" class="s"/><rect x="${x}" y="${(h - hs - hg).toFixed(1)}" width="${wd}" height="${hg.toFixed(1)}" class="g"/></g>`;
    })
    .join('');
  return `<svg viewBox="0 0 ${w} ${h}" role="img" aria-label="Daily consumption, solar and grid" preserveAspectRatio="none">${bars}</svg>`;
}

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f23;margin:0;background:#f4f5f7}
main{max-width:46rem;margin:0 auto;background:#fff;padding:1.25rem}
h1{font-size:1.35rem;margin:0 0 .25rem}h2{font-size:1.05rem;margin:1.5rem 0 .5rem}
.muted{color:#57606a}.tot{font-size:1.3rem;font-weight:700}
table{width:100%;border-collapse:collapse}td,th{padding:.35rem .3rem;border-bottom:1px solid #e1e4e8;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;white-space:nowrap}
.kpi{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.5rem}
.kpi div{background:#f6f8fa;border-radius:.4rem;padding:.5rem}.kpi b{display:block;font-size:1.15rem}
svg{width:100%;height:10rem;background:#fafbfc}.s{fill:#f2b705}.g{fill:#6a737d}
.key span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 .8em}
.note{background:#fff8c5;padding:.5rem;border-radius:.3rem}
code{font-size:.75rem;word-break:break-all}
h2{break-after:avoid;page-break-after:avoid}section{break-inside:avoid;page-break-inside:avoid}
.issuer{margin-bottom:1rem}table.meta{width:auto}table.meta th{padding-right:1rem;font-weight:600}
.pay{margin-top:1.5rem}.pay.qr svg{width:100%;height:auto;max-width:210mm;background:#fff}
@media print{body{background:#fff}main{max-width:none;padding:0}svg{height:8rem}.pay.qr{break-before:page;page-break-before:always}.pay.qr svg{height:105mm;width:210mm}}
`;

const SOLAR_VARIANT: Record<string, string> = {
  'flat-80': '80 % of the grid reference price',
  'effective-cost': 'the effective cost of the solar plant',
};

function paymentPart(bill: IssuedBill, f: BillFigures, issuer: BillIssuer | undefined): string {
  const cfg = issuer?.config;
  if (!cfg) return '';
  const qr = qrBillSvg(bill, { name: issuer.name, config: cfg });
  if (qr) return `<section class="pay qr" aria-label="Payment part (Swiss QR-bill)">${qr}</section>`;
  return `<section class="pay"><h2>Payment (SEPA credit transfer)</h2><table><tbody>
<tr><th>Payee</th><td>${esc(issuer.name)}</td></tr>
<tr><th>IBAN</th><td>${esc(formatIban(cfg.iban))}</td></tr>${cfg.bic ? `<tr><th>BIC</th><td>${esc(cfg.bic)}</td></tr>` : ''}
<tr><th>Amount</th><td>${bill.currency} ${money(bill.totalMinor)}</td></tr>
<tr><th>Reference</th><td>${esc(formatReference(f.reference))}</td></tr>
<tr><th>Due</th><td>${esc(f.dueOn ?? '')}</td></tr></tbody></table></section>`;
}

export function billHtml(bill: IssuedBill, tz: string, view: BillView = {}): string {
  const cur = bill.currency;
  const f = billFigures(bill, view.issuer?.config);
  const own = view.own !== false;
  const lines = bill.lines
    .map((l) => {
      const qty =
        l.kind === 'solar' || l.kind === 'grid' ? `${kwh(l.mWh)} kWh × ${pricePerKwh(l.unitPrice)}` : '';
      return `<tr><td>${esc(l.label)}<div class="muted">${esc(qty)}</div></td><td class="n">${money(l.amountMinor)}</td></tr>`;
    })
    .join('');
  const q = bill.quality;
  const estimated = q.estimatedIntervals + q.sourceEstimatedIntervals;
  const method =
    bill.method.name === 'static'
      ? `Static: your flat receives its fixed share of ${formatScaled(bill.method.sharePpm, 4, 2)} % of the solar production in each quarter-hour, never more than it uses; unused solar is exported.`
      : bill.method.name === 'dynamic'
        ? 'Dynamic: in each quarter-hour the solar production is shared in proportion to what each flat uses, never more than it uses; what nobody needs is exported.'
        : `Hybrid (${bill.method.hybridVariant}): first your fixed share of ${formatScaled(bill.method.sharePpm, 4, 2)} % in each quarter-hour, then solar left over is shared in proportion to the demand still uncovered.`;
  const issuer = view.issuer;
  const address = issuer?.config
    ? `${issuer.config.street}${issuer.config.buildingNumber ? ` ${issuer.config.buildingNumber}` : ''}, ${issuer.config.postalCode} ${issuer.config.city}`
    : '';
  const tariffs = [...new Set(bill.tariffs.map((t) => t.version))].join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Electricity bill ${esc(bill.period)} – ${esc(bill.recipient.name)}</title><style>${STYLE}</style></head>
<body><main>
${issuer ? `<div class="issuer"><b>${esc(issuer.name)}</b>${address ? `<br>${esc(address)}` : ''}</div>` : ''}
<h1>Electricity bill ${esc(bill.period)}</h1>
<div class="muted">${esc(bill.recipient.name)} · ${esc(bill.recipient.unitName)} · ${esc(formatLocal(bill.fromMs, tz))} to ${esc(formatLocal(bill.toMs, tz))} (${esc(tz)})</div>
<table class="meta"><tbody><tr><th>Bill number</th><td>${esc(f.number)}</td></tr>
${f.issuedOn ? `<tr><th>Issued</th><td>${esc(f.issuedOn)}</td></tr>` : ''}${f.dueOn ? `<tr><th>Due</th><td>${esc(f.dueOn)}</td></tr>` : ''}<tr><th>Tariff</th><td>${esc(tariffs)}</td></tr></tbody></table>
<p class="tot">Total ${cur} ${money(bill.totalMinor)}</p>
<div class="kpi">
<div>Consumption<b>${kwh(bill.energy.consumptionMwh)} kWh</b></div>
<div>Solar from the building<b>${kwh(bill.energy.solarMwh)} kWh</b></div>
<div>From the grid<b>${kwh(bill.energy.gridMwh)} kWh</b></div>
<div>Self-sufficiency<b>${formatPercent(f.selfSufficiencyTenths)}</b></div>
<div>Grid alone would have cost<b>${cur} ${money(f.gridAloneMinor)}</b></div>
<div>${own ? 'Your saving' : 'Saving of this flat'}<b>${cur} ${money(f.savingMinor)}</b></div>
</div>
<p class="muted">${esc(GRID_ALONE_METHOD)}</p>
<section><h2>Charges</h2>
<table class="lines"><thead><tr><th>Item</th><th class="n">${cur}</th></tr></thead><tbody>${lines}
<tr><th>Total</th><th class="n">${money(bill.totalMinor)}</th></tr></tbody></table></section>
<section><h2>Daily use</h2>
${
  bill.profileWithheld
    ? '<p class="muted">The daily consumption is shown to the resident only (no consent to share it).</p>'
    : `${dailyChart(bill)}
<div class="muted key"><span class="s" style="background:#f2b705"></span>solar<span style="background:#6a737d"></span>grid</div>`
}</section>
<section><h2>How your solar share is calculated</h2>
<p>${esc(method)} Energy is counted in milliwatt-hours; rounding follows the largest-remainder rule so that no energy or cent is lost or invented. Percentages are rounded half up to a tenth.</p>
${bill.capCheck.length > 0 ? `<p>Price cap (Swiss Energy Ordinance Art. 16): the solar price including fees stays within the allowed maximum (${esc(bill.capCheck.map((c) => SOLAR_VARIANT[c.variant] ?? c.variant).join(', '))}).</p>` : ''}
${estimated + q.clampedIntervals > 0 ? `<p class="note">Data quality: ${estimated} of ${bill.intervals} quarter-hours were estimated (${q.sourceEstimatedIntervals} by the grid operator, ${q.estimatedIntervals} by interpolation or the same time a week earlier)${q.clampedIntervals > 0 ? `, ${q.clampedIntervals} negative readings were set to zero` : ''}.</p>` : ''}</section>
<section><h2>Verification</h2>
${verification(bill)}</section>
${paymentPart(bill, f, issuer)}
</main></body></html>
`;
}

function verification(bill: IssuedBill): string {
  const cp = bill.checkpoint;
  const code = `${cp.seq}:${esc(cp.hash)}`;
  if (!('signature' in cp))
    return `<p class="muted">This bill is entry ${bill.entry.seq} of the community's tamper-evident ledger. Checkpoint ${cp.seq}: <code>${esc(cp.hash)}</code>. Check it on the community's web page (Bills → this bill → Verify) by entering <code>${code}</code>.</p>`;
  return `<p class="muted">This bill is entry ${bill.entry.seq} of the community's tamper-evident ledger (entry hash <code>${esc(bill.entry.hash)}</code>). The checkpoint below covers this bill and everything before it; it was signed on ${esc(cp.signedAt.slice(0, 10))} with the community's key ${esc(cp.keyId)}. Check it on the community's web page (Bills → this bill → Verify); no software is needed.</p>
<p class="muted">Checkpoint <code>${code}</code><br>Community public key (Ed25519) <code>${esc(cp.publicKey)}</code><br>Signature <code>${esc(cp.signature)}</code></p>`;
}

export function summaryText(s: Summary): string {
  const cur = s.currency;
  const out = [
    `${s.community} ${s.period}: ${s.intervals} quarter-hours`,
    `  production ${kwh(s.productionMwh)} kWh, self-consumed ${kwh(s.selfConsumedMwh)} kWh (${formatPercent(percentTenths(s.selfConsumedMwh, s.productionMwh))}), exported ${kwh(s.exportedMwh)} kWh, autarky ${formatPercent(percentTenths(s.selfConsumedMwh, s.consumptionMwh))}`,
    ...s.gridInvoice.map(
      (g) => `  grid ${g.tariffVersion}/${g.zone}: ${kwh(g.mWh)} kWh = ${cur} ${money(g.amountMinor)}`,
    ),
    `  internal solar revenue ${cur} ${money(s.solarRevenueMinor)}`,
    ...s.feedIn.map((f) => `  feed-in to ${f.party}: ${cur} ${money(f.amountMinor)}`),
    ...(s.gridMeterMwh === null
      ? []
      : [
          `  grid meter ${kwh(s.gridMeterMwh)} kWh; residual not billed to units ${kwh(s.gridResidualMwh ?? 0)} kWh`,
        ]),
    ...(s.battery
      ? [
          `  battery: content ${kwh(s.battery.opening.solarMwh)} solar + ${kwh(s.battery.opening.gridMwh)} grid kWh at the start, ${kwh(s.battery.closing.solarMwh)} + ${kwh(s.battery.closing.gridMwh)} kWh at the end; charged from the grid ${kwh(s.battery.gridChargedMwh)} kWh, given back as grid ${kwh(s.battery.gridDischargedMwh)} kWh`,
        ]
      : []),
    ...s.perBill.map(
      (b) => `  ${b.unit.padEnd(8)} ${b.name.padEnd(24)} ${cur} ${money(b.totalMinor).padStart(10)}`,
    ),
    `  all bills ${cur} ${money(s.billsTotalMinor)}`,
  ];
  return `${out.join('\n')}\n`;
}
