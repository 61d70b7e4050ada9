import { barSeries, chartFrame, plotIn } from './chart.js';
import { api, el, table } from './dom.js';
import { lang, t, textsOf } from './i18n.js';

// Household and board pages over the ledger's bills (/api/bills, /api/units/…/bills/…,
// /api/communities/…/summary). Texts live here, in both languages, beside the pages that use them.
const TEXTS = {
  en: {
    noBills: 'No bills have been issued for you yet.',
    billFor: '{period} · {unit}',
    total: 'Total',
    consumptionTitle: 'My consumption',
    consumptionOf: 'Daily consumption in {period}',
    billTitle: 'Bill {period}',
    recipient: '{name} · {unit}',
    consumption: 'Consumption',
    solar: 'Solar from the building',
    grid: 'From the grid',
    selfSufficiency: 'Self-sufficiency',
    gridOnly: 'Grid alone would have cost',
    saving: 'Your saving',
    savingOther: 'Saving of this flat',
    building: 'The whole building',
    bPart: 'Part',
    bEnergy: 'Energy',
    bFromGrid: 'From the grid',
    bFlats: 'Flats (billed)',
    bCommon: 'Common areas: heat pump, EV charging, stairwell',
    bPv: 'Solar production',
    bBattery: 'Battery (content at month end; charged from the grid)',
    bGridMeter: 'Grid meter (the grid operator invoices this)',
    bNote:
      'The grid meter’s import is the flats’ grid energy plus the common areas’. The grid energy billed to the flats is shown above; the common areas are on the association’s own account.',
    gridAloneMethod:
      'Grid alone: the whole consumption priced at the grid tariff of each quarter-hour, plus the same fees and VAT as this bill.',
    issuer: 'Issued by',
    billNumber: 'Bill number',
    issuedOn: 'Issued',
    dueOn: 'Due',
    payment: 'Payment',
    qrAlt: 'Swiss QR-bill payment part: {amount} to {name}, reference {ref}',
    iban: 'IBAN',
    bic: 'BIC',
    reference: 'Reference',
    payee: 'Payee',
    downloadCsv: 'Download lines (CSV)',
    checkpointCode: 'Checkpoint',
    charges: 'Charges',
    item: 'Item',
    amount: 'Amount',
    daily: 'Daily use: solar and grid',
    dailySummary:
      '{days} days: {solar} from the building’s solar, {grid} from the grid; highest day {maxDay} with {max}.',
    dailyTable: 'Show the daily numbers as a table',
    date: 'Date',
    checkpoint: 'Ledger checkpoint',
    checkpointText:
      'This bill is entry {entry} of the community’s tamper-evident ledger. Its checkpoint is entry {seq}; anyone can check that nothing before it was changed:',
    downloadPdf: 'Download PDF',
    downloadHtml: 'Download printable page',
    estimated: '{n} of {all} quarter-hours were estimated (missing meter data).',
    back: 'Back to the bills',
    notFound: 'This bill does not exist or is not yours.',
    dashboard: 'Community dashboard',
    noSummary: 'No month has been billed for this community yet.',
    period: 'Month',
    production: 'Solar production',
    selfConsumption: 'Self-consumed',
    exported: 'Exported to the grid',
    autarky: 'Self-sufficiency of the community',
    revenue: 'Internal solar revenue',
    feedIn: 'Feed-in revenue',
    gridInvoice: 'Grid energy billed to the flats',
    allBills: 'All units’ bills',
    unit: 'Unit',
    resident: 'Billed to',
    privacy: 'Community totals are shown to the board only: in a small building they reveal neighbours’ use.',
    verifyLink: 'Check this bill',
    withheld:
      'The resident has not shared this flat’s daily consumption; the bill shows the monthly totals needed for billing.',
    myData: 'My consumption data',
    myDataText:
      'Your 15-minute consumption is personal data: it shows when someone is at home. Only you see it, unless you let the board see it too.',
    consentLabel: 'Let the board see my daily and 15-minute consumption',
    consentSaved: 'Saved: the board {may} see your consumption profile.',
    consentMay: 'may',
    consentMayNot: 'may not',
    exportOf: 'Download {period}:',
    noProfiles: 'No 15-minute data are stored for your flat.',
    eraseButton: 'Erase my billed 15-minute data',
    eraseConfirm:
      'Erase the 15-minute consumption data of your flat for every billed month? Your bills and their monthly totals stay; this cannot be undone.',
    eraseDone:
      'Erased: {readings} readings and {profiles} months of profiles. Data not billed yet is kept until it is billed.',
    eraseFailed: 'The data could not be erased (error {status}).',
    chooseCommunity: 'Community',
    lineSolar: 'Solar energy from the building',
    lineGrid: 'Grid energy, {zone}',
    lineVat: 'VAT {rate} % on {base}',
  },
  de: {
    noBills: 'Für Sie wurden noch keine Rechnungen ausgestellt.',
    billFor: '{period} · {unit}',
    total: 'Total',
    consumptionTitle: 'Mein Verbrauch',
    consumptionOf: 'Verbrauch pro Tag im {period}',
    billTitle: 'Rechnung {period}',
    recipient: '{name} · {unit}',
    consumption: 'Verbrauch',
    solar: 'Solarstrom vom Haus',
    grid: 'Aus dem Netz',
    selfSufficiency: 'Eigenversorgung',
    gridOnly: 'Nur aus dem Netz hätte gekostet',
    saving: 'Ihre Ersparnis',
    savingOther: 'Ersparnis dieser Wohnung',
    building: 'Das ganze Haus',
    bPart: 'Teil',
    bEnergy: 'Energie',
    bFromGrid: 'Aus dem Netz',
    bFlats: 'Wohnungen (abgerechnet)',
    bCommon: 'Allgemeinflächen: Wärmepumpe, E-Auto-Laden, Treppenhaus',
    bPv: 'Solarproduktion',
    bBattery: 'Batterie (Inhalt am Monatsende; aus dem Netz geladen)',
    bGridMeter: 'Netzzähler (danach rechnet der Netzbetreiber ab)',
    bNote:
      'Der Bezug am Netzzähler ist der Netzstrom der Wohnungen plus jener der Allgemeinflächen. Der den Wohnungen verrechnete Netzstrom steht oben; die Allgemeinflächen gehen auf das Konto der Gemeinschaft.',
    gridAloneMethod:
      'Nur aus dem Netz: der ganze Verbrauch zum Netztarif jeder Viertelstunde, dazu dieselben Gebühren und dieselbe MWST wie auf dieser Rechnung.',
    issuer: 'Rechnungsstellerin',
    billNumber: 'Rechnungsnummer',
    issuedOn: 'Ausgestellt',
    dueOn: 'Fällig',
    payment: 'Zahlung',
    qrAlt: 'Zahlteil der Schweizer QR-Rechnung: {amount} an {name}, Referenz {ref}',
    iban: 'IBAN',
    bic: 'BIC',
    reference: 'Referenz',
    payee: 'Zahlungsempfänger',
    downloadCsv: 'Positionen herunterladen (CSV)',
    checkpointCode: 'Prüfpunkt',
    charges: 'Positionen',
    item: 'Position',
    amount: 'Betrag',
    daily: 'Verbrauch pro Tag: Solar und Netz',
    dailySummary:
      '{days} Tage: {solar} Solarstrom vom Haus, {grid} aus dem Netz; höchster Tag {maxDay} mit {max}.',
    dailyTable: 'Tageswerte als Tabelle zeigen',
    date: 'Datum',
    checkpoint: 'Prüfpunkt im Journal',
    checkpointText:
      'Diese Rechnung ist Eintrag {entry} im fälschungssicheren Journal der Gemeinschaft. Ihr Prüfpunkt ist Eintrag {seq}; jede Person kann prüfen, dass davor nichts verändert wurde:',
    downloadPdf: 'PDF herunterladen',
    downloadHtml: 'Druckversion herunterladen',
    estimated: '{n} von {all} Viertelstunden wurden geschätzt (fehlende Zählerdaten).',
    back: 'Zurück zu den Rechnungen',
    notFound: 'Diese Rechnung gibt es nicht, oder sie ist nicht Ihre.',
    dashboard: 'Übersicht der Gemeinschaft',
    noSummary: 'Für diese Gemeinschaft wurde noch kein Monat abgerechnet.',
    period: 'Monat',
    production: 'Solarproduktion',
    selfConsumption: 'Selbst verbraucht',
    exported: 'Ins Netz eingespeist',
    autarky: 'Eigenversorgung der Gemeinschaft',
    revenue: 'Interner Solarerlös',
    feedIn: 'Einspeiseerlös',
    gridInvoice: 'Netzstrom, den Wohnungen verrechnet',
    allBills: 'Rechnungen aller Einheiten',
    unit: 'Einheit',
    resident: 'Rechnung an',
    privacy:
      'Summen der Gemeinschaft sieht nur der Vorstand: in einem kleinen Haus verraten sie den Verbrauch der Nachbarn.',
    verifyLink: 'Diese Rechnung prüfen',
    withheld:
      'Die Bewohnerin oder der Bewohner hat den Tagesverbrauch dieser Wohnung nicht freigegeben; die Rechnung zeigt die für die Abrechnung nötigen Monatssummen.',
    myData: 'Meine Verbrauchsdaten',
    myDataText:
      'Ihr Viertelstunden-Verbrauch ist ein Personendatum: er zeigt, wann jemand zu Hause ist. Nur Sie sehen ihn, ausser Sie geben ihn für den Vorstand frei.',
    consentLabel: 'Dem Vorstand meinen Tages- und Viertelstunden-Verbrauch zeigen',
    consentSaved: 'Gespeichert: der Vorstand {may} Ihr Verbrauchsprofil sehen.',
    consentMay: 'darf',
    consentMayNot: 'darf nicht',
    exportOf: '{period} herunterladen:',
    noProfiles: 'Für Ihre Wohnung sind keine Viertelstunden-Daten gespeichert.',
    eraseButton: 'Meine abgerechneten Viertelstunden-Daten löschen',
    eraseConfirm:
      'Die Viertelstunden-Verbrauchsdaten Ihrer Wohnung für alle abgerechneten Monate löschen? Ihre Rechnungen und deren Monatssummen bleiben; das kann nicht rückgängig gemacht werden.',
    eraseDone:
      'Gelöscht: {readings} Messwerte und {profiles} Monatsprofile. Noch nicht abgerechnete Daten bleiben bis zur Abrechnung.',
    eraseFailed: 'Die Daten konnten nicht gelöscht werden (Fehler {status}).',
    chooseCommunity: 'Gemeinschaft',
    lineSolar: 'Solarstrom vom Haus',
    lineGrid: 'Netzstrom, {zone}',
    lineVat: 'MWST {rate} % auf {base}',
  },
};

const tb = textsOf(TEXTS);

const kwh = (mWh) =>
  `${new Intl.NumberFormat(lang(), { maximumFractionDigits: 1 }).format(mWh / 1_000_000)} kWh`;
const money = (minor, currency) =>
  new Intl.NumberFormat(lang(), { style: 'currency', currency }).format(minor / 100);
/**
 * Percentages arrive as tenths, rounded half up from the exact energies by the server
 * (ledger/render.ts percentTenths), the one rule the PDF, CSV and CLI use too.
 */
const percent = (tenths) =>
  `${new Intl.NumberFormat(lang(), { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(tenths / 10)} %`;
const monthName = (period) => {
  const m = /^(\d{4})-(\d{2})$/.exec(period);
  return m
    ? new Intl.DateTimeFormat(lang(), { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(
        new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1)),
      )
    : period;
};
/** The shell's `page` without the absent (null) parts, which it would print as text. */
const present =
  (page) =>
  (title, ...children) =>
    page(title, ...children.filter((c) => c !== null && c !== undefined));
/**
 * A bill line in the page's language. The ledger issues the lines in English (ledger/billing.ts:
 * "Solar energy from the building", "Grid energy, <zone>", "VAT <rate> % on <currency> <base>");
 * fees and zones keep the names the community file gives them.
 */
function lineLabel(l) {
  const grid = /^Grid energy, (.+)$/.exec(l.label);
  const vat = /^VAT ([\d.]+) % on ([A-Z]{3}) ([\d.]+)$/.exec(l.label);
  if (l.kind === 'solar') return tb('lineSolar');
  if (l.kind === 'grid' && grid) return tb('lineGrid', { zone: grid[1] });
  if (l.kind === 'vat' && vat)
    return tb('lineVat', {
      rate: new Intl.NumberFormat(lang(), { minimumFractionDigits: 2 }).format(Number(vat[1])),
      // As the ledger writes it (code, space, amount), with the language's decimal sign.
      base: `${vat[2]} ${new Intl.NumberFormat(lang(), { minimumFractionDigits: 2 }).format(Number(vat[3]))}`,
    });
  return l.label;
}
const billHref = (b) => `#/bill/${encodeURIComponent(b.unit)}/${encodeURIComponent(b.id)}`;

function kpis(items) {
  return el(
    'dl',
    { class: 'kpis' },
    items.map(([label, value]) =>
      el('div', { class: 'kpi' }, el('dt', { text: label }), el('dd', { text: value })),
    ),
  );
}

/**
 * Daily solar and grid as bars (uPlot), the solar part drawn over the day's total; the text
 * alternative is a summary (the chart's label) and the same numbers as a table.
 */
function dailyChart(container, days, title, cleanup) {
  const total = days.map((d) => (d.solarMwh + d.gridMwh) / 1_000_000);
  const solar = days.map((d) => d.solarMwh / 1_000_000);
  const maxAt = total.indexOf(Math.max(...total));
  const summary = tb('dailySummary', {
    days: days.length,
    solar: kwh(days.reduce((s, d) => s + d.solarMwh, 0)),
    grid: kwh(days.reduce((s, d) => s + d.gridMwh, 0)),
    maxDay: days[maxAt]?.date ?? '',
    max: kwh((total[maxAt] ?? 0) * 1_000_000),
  });
  container.append(el('h2', { text: title }));
  const figure = chartFrame(container, {
    summary,
    toggle: tb('dailyTable'),
    caption: title,
    head: [tb('date'), tb('solar'), tb('grid')],
    rows: days.map((d) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row', text: d.date }),
        el('td', { class: 'num', text: kwh(d.solarMwh) }),
        el('td', { class: 'num', text: kwh(d.gridMwh) }),
      ),
    ),
  });
  const xs = days.map((d) => Date.parse(`${d.date}T12:00:00Z`) / 1000);
  const bars = { size: [0.7, 40] };
  cleanup.push(
    plotIn(
      figure,
      container,
      {
        height: 220,
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
        series: [
          { label: tb('date') },
          barSeries(`${tb('grid')} (kWh)`, '#5c6670', '#8a949e', bars),
          barSeries(`${tb('solar')} (kWh)`, '#b07d00', '#f2b705', bars),
        ],
        axes: [{}, { label: 'kWh', size: 50 }],
      },
      // The grid series is the day's total; solar, drawn on top, covers its own part of it.
      [xs, total, solar],
    ),
  );
}

/** Newest month first, then units in natural order (Flat 2 before Flat 10). */
const natural = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
const billOrder = (a, b) => b.period.localeCompare(a.period) || natural.compare(a.unitName, b.unitName);

function billList(bills, withUnit) {
  return el(
    'ul',
    { class: 'cards bills' },
    [...bills].sort(billOrder).map((b) =>
      el(
        'li',
        { class: 'card' },
        el(
          'a',
          {
            href: billHref(b),
            // Each link names its unit too: a board's list holds one bill per unit and month.
            // WCAG 2.5.3 (label in name): the accessible name is the visible text.
          },
          withUnit ? `${b.unitName}: ${monthName(b.period)}` : monthName(b.period),
        ),
        el('p', { class: 'total', text: money(b.totalMinor, b.currency) }),
        el('p', {
          class: 'muted',
          text: `${b.recipient} · ${tb('solar')} ${kwh(b.solarMwh)} / ${kwh(b.consumptionMwh)} · ${withUnit ? tb('savingOther') : tb('saving')} ${money(b.savingMinor, b.currency)}`,
        }),
      ),
    ),
  );
}

/** Resident: my bills (newest first) and my consumption from the latest bill. */
export async function billsPage({ page: shell, cleanup }) {
  const page = present(shell);
  const res = await api('/api/bills');
  const bills = res.status === 200 ? res.body.bills : [];
  if (bills.length === 0) return page(t('billsTitle'), el('p', { text: tb('noBills') }));
  const chart = el('section', { class: 'card', id: 'consumption' });
  const mine = el('section', { class: 'card', id: 'my-data', 'aria-labelledby': 'my-data-h' });
  page(t('billsTitle'), billList(bills, false), el('h2', { text: tb('consumptionTitle') }), chart, mine);
  await myData(mine, bills[0].unit);
  const latest = await api(
    `/api/units/${encodeURIComponent(bills[0].unit)}/bills/${encodeURIComponent(bills[0].id)}`,
  );
  if (latest.status === 200)
    dailyChart(
      chart,
      latest.body.daily,
      tb('consumptionOf', { period: monthName(latest.body.period) }),
      cleanup,
    );
}

/**
 * The resident's own data: consent for the board to see the consumption profile (stored and
 * audited by the server) and the 15-minute data of each billed month as CSV or JSON.
 */
async function myData(section, unit) {
  const base = `/api/units/${encodeURIComponent(unit)}`;
  const res = await api(`${base}/profiles`);
  if (res.status !== 200) return;
  const saved = el('p', { class: 'muted', role: 'status', id: 'consent-status' });
  const box = el('input', {
    type: 'checkbox',
    id: 'consent',
    checked: res.body.consent.boardMaySeeProfile,
    onchange: async () => {
      box.disabled = true;
      const r = await api(`${base}/consent`, { method: 'PUT', body: { boardMaySeeProfile: box.checked } });
      box.disabled = false;
      if (r.status === 200) {
        box.checked = r.body.boardMaySeeProfile;
        saved.textContent = tb('consentSaved', {
          may: r.body.boardMaySeeProfile ? tb('consentMay') : tb('consentMayNot'),
        });
      }
    },
  });
  const erased = el('p', { class: 'muted', role: 'status', id: 'erase-status' });
  const erase = el('button', {
    type: 'button',
    id: 'erase-data',
    text: tb('eraseButton'),
    onclick: async () => {
      if (!window.confirm(tb('eraseConfirm'))) return;
      erase.disabled = true;
      const r = await api(`${base}/data`, { method: 'DELETE', body: { confirm: 'erase' } });
      erase.disabled = false;
      erased.textContent =
        r.status === 200
          ? tb('eraseDone', { readings: r.body.readings, profiles: r.body.profiles })
          : tb('eraseFailed', { status: r.status });
      if (r.status === 200)
        section.querySelector('ul.exports')?.replaceWith(el('p', { text: tb('noProfiles') }));
    },
  });
  section.append(
    el('h2', { id: 'my-data-h', text: tb('myData') }),
    el('p', { text: tb('myDataText') }),
    el('p', { class: 'consent' }, box, ' ', el('label', { for: 'consent', text: tb('consentLabel') })),
    saved,
    res.body.periods.length === 0
      ? el('p', { text: tb('noProfiles') })
      : el(
          'ul',
          { class: 'exports' },
          res.body.periods.map((p) =>
            el(
              'li',
              {},
              `${tb('exportOf', { period: monthName(p) })} `,
              ...['csv', 'json'].flatMap((f) => [
                el('a', {
                  href: `${base}/profiles/${encodeURIComponent(p)}?format=${f}`,
                  download: `${unit}-${p}.${f}`,
                  text: f.toUpperCase(),
                }),
                ' ',
              ]),
            ),
          ),
        ),
    el('p', {}, erase),
    erased,
  );
}

/** The issuer (the community, with its address), the bill number, issue and due dates. */
function issuerBlock(b) {
  const i = b.issuer ?? { name: b.community };
  const address = i.street
    ? `${i.street}${i.buildingNumber ? ` ${i.buildingNumber}` : ''}, ${i.postalCode} ${i.city}`
    : null;
  return el(
    'dl',
    { class: 'meta', id: 'bill-meta' },
    [
      [tb('issuer'), address ? `${i.name}, ${address}` : i.name],
      [tb('billNumber'), b.figures.number],
      b.figures.issuedOn ? [tb('issuedOn'), b.figures.issuedOn] : null,
      b.figures.dueOn ? [tb('dueOn'), b.figures.dueOn] : null,
    ]
      .filter(Boolean)
      .map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', { text: v }))),
  );
}

/** How to pay: the Swiss QR-bill payment part (CHF), or the account and reference (SEPA). */
function paymentBlock(b, path) {
  const i = b.issuer;
  if (!i?.iban) return null;
  const amount = money(b.totalMinor, b.currency);
  const ref = b.figures.reference;
  const body =
    b.currency === 'CHF'
      ? el('img', {
          class: 'qr-bill',
          src: `${path}?format=qr`,
          alt: tb('qrAlt', { amount, name: i.name, ref }),
        })
      : el(
          'dl',
          { class: 'meta' },
          [
            [tb('payee'), i.name],
            [tb('iban'), i.iban.replace(/(.{4})/g, '$1 ').trim()],
            i.bic ? [tb('bic'), i.bic] : null,
            [tb('total'), amount],
            [tb('reference'), ref],
            b.figures.dueOn ? [tb('dueOn'), b.figures.dueOn] : null,
          ]
            .filter(Boolean)
            .map(([k, v]) => el('div', {}, el('dt', { text: k }), el('dd', { text: v }))),
        );
  return el(
    'section',
    { class: 'card', id: 'payment', 'aria-labelledby': 'payment-h' },
    el('h2', { id: 'payment-h', text: tb('payment') }),
    body,
  );
}

/** One bill: totals, solar/grid split, saving, lines, daily chart, downloads and the checkpoint. */
export async function billPage({ page: shell, me, cleanup }, unit, id) {
  const page = present(shell);
  const path = `/api/units/${encodeURIComponent(unit)}/bills/${encodeURIComponent(id)}`;
  const res = await api(path);
  const back = el(
    'p',
    {},
    el('a', { href: me.role === 'resident' ? '#/bills' : '#/community', text: tb('back') }),
  );
  if (res.status !== 200) return page(tb('notFound'), back);
  const b = res.body;
  const f = b.figures;
  const cur = b.currency;
  const q = b.quality;
  const estimated = q.estimatedIntervals + q.sourceEstimatedIntervals;
  const chart = el('section', { class: 'card' });
  page(
    tb('billTitle', { period: monthName(b.period) }),
    el('p', {
      class: 'muted',
      text: tb('recipient', { name: b.recipient.name, unit: b.recipient.unitName }),
    }),
    el('p', { class: 'total', id: 'bill-total' }, `${tb('total')} ${money(b.totalMinor, cur)}`),
    issuerBlock(b),
    kpis([
      [tb('consumption'), kwh(b.energy.consumptionMwh)],
      [tb('solar'), kwh(b.energy.solarMwh)],
      [tb('grid'), kwh(b.energy.gridMwh)],
      [tb('selfSufficiency'), percent(f.selfSufficiencyTenths)],
      [tb('gridOnly'), money(f.gridAloneMinor, cur)],
      [b.own === false ? tb('savingOther') : tb('saving'), money(f.savingMinor, cur)],
    ]),
    el('p', { class: 'muted', id: 'grid-alone-method', text: tb('gridAloneMethod') }),
    estimated > 0
      ? el('p', { class: 'note', text: tb('estimated', { n: estimated, all: b.intervals }) })
      : null,
    el(
      'p',
      { class: 'actions' },
      el('a', {
        class: 'button',
        href: `${path}?format=pdf`,
        download: `${b.id}.pdf`,
        text: tb('downloadPdf'),
      }),
      el('a', {
        class: 'button',
        href: `${path}?format=html`,
        download: `${b.id}.html`,
        text: tb('downloadHtml'),
      }),
      el('a', {
        class: 'button',
        href: `${path}?format=csv`,
        download: `${b.id}.csv`,
        text: tb('downloadCsv'),
      }),
    ),
    el('h2', { text: tb('charges') }),
    table(
      tb('charges'),
      [tb('item'), tb('amount')],
      [
        ...b.lines.map((l) =>
          el(
            'tr',
            {},
            el(
              'th',
              { scope: 'row' },
              lineLabel(l),
              l.kind === 'solar' || l.kind === 'grid'
                ? el('span', { class: 'muted sub', text: kwh(l.mWh) })
                : null,
            ),
            el('td', { class: 'num', text: money(l.amountMinor, cur) }),
          ),
        ),
        el(
          'tr',
          { class: 'sum' },
          el('th', { scope: 'row', text: tb('total') }),
          el('td', { class: 'num', text: money(b.totalMinor, cur) }),
        ),
      ],
    ),
    paymentBlock(b, path),
    chart,
    el(
      'section',
      { class: 'card', id: 'checkpoint', 'aria-labelledby': 'checkpoint-h' },
      el('h2', { id: 'checkpoint-h', text: tb('checkpoint') }),
      el('p', { text: tb('checkpointText', { entry: b.entry.seq, seq: b.checkpoint.seq }) }),
      el(
        'p',
        {},
        `${tb('checkpointCode')} `,
        el('code', { class: 'hash', text: `${b.checkpoint.seq}:${b.checkpoint.hash}` }),
      ),
      el(
        'p',
        {},
        el('a', {
          class: 'button',
          href: `#/verify/${encodeURIComponent(unit)}/${encodeURIComponent(id)}`,
          text: tb('verifyLink'),
        }),
      ),
    ),
    back,
  );
  if (b.profileWithheld || b.daily.length === 0)
    chart.append(
      el('h2', { text: tb('daily') }),
      el('p', { class: 'note', id: 'profile-withheld', text: tb('withheld') }),
    );
  else dailyChart(chart, b.daily, tb('daily'), cleanup);
}

/**
 * The whole building for a month: flats (billed), common areas (heat pump, EV charging,
 * stairwell: the grid meter's import not billed to flats), PV, battery, and the grid meter,
 * which equals the flats' grid energy plus the common areas'.
 */
function buildingTable(s) {
  const flatsGrid = s.consumptionMwh - s.selfConsumedMwh;
  const rows = [
    ['building-flats', tb('bFlats'), kwh(s.consumptionMwh), kwh(flatsGrid)],
    s.gridResidualMwh === null || s.gridResidualMwh === undefined
      ? null
      : ['building-common', tb('bCommon'), kwh(s.gridResidualMwh), kwh(s.gridResidualMwh)],
    ['building-pv', tb('bPv'), kwh(s.productionMwh), '–'],
    s.battery
      ? [
          'building-battery',
          tb('bBattery'),
          kwh(s.battery.closing.solarMwh + s.battery.closing.gridMwh),
          kwh(s.battery.gridChargedMwh),
        ]
      : null,
    s.gridMeterMwh === null || s.gridMeterMwh === undefined
      ? null
      : ['building-grid-meter', tb('bGridMeter'), '–', kwh(s.gridMeterMwh)],
  ].filter(Boolean);
  return el(
    'section',
    { id: 'building', 'aria-labelledby': 'building-h' },
    el('h4', { id: 'building-h', text: tb('building') }),
    table(
      tb('building'),
      [tb('bPart'), tb('bEnergy'), tb('bFromGrid')],
      rows.map(([id, label, energy, grid]) =>
        el(
          'tr',
          { id },
          el('th', { scope: 'row', text: label }),
          el('td', { class: 'num', text: energy }),
          el('td', { class: 'num', text: grid }),
        ),
      ),
    ),
    el('p', { class: 'muted', text: tb('bNote') }),
  );
}

/** Board (and admin): the community's totals per billed month and every unit's bill. */
export async function communityPage({ page: shell, me }) {
  const page = present(shell);
  const all = await api('/api/bills');
  const bills = all.status === 200 ? all.body.bills : [];
  const granted = me.grants.find((g) => g.kind === 'community')?.ref;
  const community = granted ?? bills[0]?.community ?? '';
  const res = community ? await api(`/api/communities/${encodeURIComponent(community)}/summary`) : null;
  const periods = res?.status === 200 ? res.body.periods : [];
  const latest = periods[0]?.summary;
  const cur = latest?.currency ?? 'CHF';
  page(
    t('communityTitle', { name: latest?.communityName ?? community }),
    el('h2', { text: tb('dashboard') }),
    latest
      ? el(
          'section',
          { class: 'card', id: 'dashboard', 'aria-label': `${tb('dashboard')} ${monthName(latest.period)}` },
          el('h3', { text: monthName(latest.period) }),
          kpis([
            [tb('production'), kwh(latest.productionMwh)],
            [
              tb('selfConsumption'),
              `${kwh(latest.selfConsumedMwh)} (${percent(latest.selfConsumptionTenths)})`,
            ],
            [tb('exported'), kwh(latest.exportedMwh)],
            [tb('autarky'), percent(latest.autarkyTenths)],
            [tb('revenue'), money(latest.solarRevenueMinor, cur)],
            [
              tb('feedIn'),
              money(
                latest.feedIn.reduce((s, f) => s + f.amountMinor, 0),
                cur,
              ),
            ],
            [
              tb('gridInvoice'),
              money(
                latest.gridInvoice.reduce((s, g) => s + g.amountMinor, 0),
                cur,
              ),
            ],
          ]),
          el('p', { class: 'muted', text: tb('privacy') }),
          buildingTable(latest),
        )
      : el('p', { text: tb('noSummary') }),
    periods.length > 1
      ? table(
          tb('dashboard'),
          [tb('period'), tb('production'), tb('selfConsumption'), tb('exported'), tb('revenue')],
          periods.map(({ summary: s }) =>
            el(
              'tr',
              {},
              el('th', { scope: 'row', text: monthName(s.period) }),
              el('td', { class: 'num', text: kwh(s.productionMwh) }),
              el('td', { class: 'num', text: kwh(s.selfConsumedMwh) }),
              el('td', { class: 'num', text: kwh(s.exportedMwh) }),
              el('td', { class: 'num', text: money(s.solarRevenueMinor, s.currency) }),
            ),
          ),
        )
      : null,
    el('h2', { text: tb('allBills') }),
    billList(
      bills.filter((b) => b.community === community),
      true,
    ),
  );
}
