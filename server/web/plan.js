// The site's plan (optimizer/live.ts via GET /api/sites/:site/plan): the decision in force and
// why, and today's schedule against what was measured, as a chart with a text alternative.
import { chartFrame, plotIn, timeLabel, timeOptions } from './chart.js';
import { api, el } from './dom.js';
import { formatTime, formatValue, lang, planTrigger, t } from './i18n.js';

const kw = (x) => (x === null || x === undefined ? t('noValue') : formatValue(x * 1000, 'W'));

function money(x, currency) {
  if (x === null || x === undefined) return t('noValue');
  return new Intl.NumberFormat(lang(), { style: 'currency', currency, maximumFractionDigits: 3 }).format(x);
}

/**
 * A hold in words: "battery: held by market activation A-1 (fcr-up, 8 kW)", or "fan-1: held by the
 * frequency response (fcr-n, 4 kW)".
 */
function holdText(h) {
  if (h.by === 'frequency_response')
    return t('planHeldFrequency', { asset: h.assetId, product: h.productId, power: kw(h.kw) });
  return t('planHeld', { asset: h.assetId, id: h.activationId, product: h.productId, power: kw(h.kw) });
}

/** A setpoint in words: "battery: charge 5 kW"; an asset a market activation holds says so instead. */
function decision(s, holds = []) {
  const held = holds.find((h) => h.assetId === s.assetId);
  if (held) return holdText(held);
  if (Math.abs(s.kw) < 1e-3) return t('planIdle', { asset: s.assetId });
  return t(s.kw > 0 ? 'planCharge' : 'planDischarge', { asset: s.assetId, power: kw(Math.abs(s.kw)) });
}

/** A binding constraint family in words, e.g. `battery[battery].soc` at upper → "battery full". */
function bindingText(b) {
  const m = /^(\w+)\[([^\]]+)\]\.(\w+)$/.exec(b.family);
  if (m) return t(`planBind_${m[1]}_${m[3]}_${b.at}`, { asset: m[2] });
  return t(`planBind_${b.family.replace('.', '_')}_${b.at}`);
}

/** Today's rows: planned (plans in force, then the current plan) and actual, per slot. */
function todayRows(view) {
  const ahead = new Map((view.plan?.slots ?? []).map((s) => [s.startMs, s]));
  return view.today.slots.map((s) => {
    const future = ahead.get(s.startMs);
    return {
      startMs: s.startMs,
      plannedGrid: s.plannedGridKw ?? (future ? future.importKw - future.exportKw : null),
      actualGrid: s.actualGridKw,
      plannedBattery: s.plannedBatteryKw ?? future?.batteryKw ?? null,
      actualBattery: s.actualBatteryKw,
      price: future?.importPrice ?? null,
    };
  });
}

function chartCard(rows, cleanup, timeZone) {
  const known = rows.filter((r) => r.plannedGrid !== null || r.actualGrid !== null);
  const box = el('section', { class: 'card', 'aria-labelledby': 'plan-chart-h' });
  box.append(el('h2', { id: 'plan-chart-h', text: t('planChartTitle') }));
  if (known.length === 0) {
    box.append(el('p', { class: 'muted', text: t('planChartEmpty') }));
    return box;
  }
  const planned = rows.filter((r) => r.plannedGrid !== null).map((r) => r.plannedGrid);
  const actual = rows.filter((r) => r.actualGrid !== null).map((r) => r.actualGrid);
  const summary = t('planChartSummary', {
    slots: planned.length,
    plannedMax: kw(planned.length ? Math.max(...planned) : null),
    actualSlots: actual.length,
    actualMax: kw(actual.length ? Math.max(...actual) : null),
  });
  const figure = chartFrame(box, {
    summary,
    attrs: { id: 'plan-chart' },
    tableId: 'plan-table',
    caption: t('planChartTitle'),
    head: [
      timeLabel(timeZone),
      ...['planGridPlanned', 'planGridActual', 'planBatteryPlanned', 'planBatteryActual'].map((k) => t(k)),
    ],
    rows: known.map((r) =>
      el(
        'tr',
        {},
        el('td', { text: formatTime(r.startMs, timeZone) }),
        el('td', { class: 'num', text: kw(r.plannedGrid) }),
        el('td', { class: 'num', text: kw(r.actualGrid) }),
        el('td', { class: 'num', text: kw(r.plannedBattery) }),
        el('td', { class: 'num', text: kw(r.actualBattery) }),
      ),
    ),
  });
  // uPlot is drawn after the box is in the page (it measures its container).
  queueMicrotask(() =>
    cleanup.push(
      plotIn(
        figure,
        box,
        {
          height: 300,
          ...timeOptions(timeZone),
          series: [
            { label: timeLabel(timeZone) },
            { label: `${t('planGridPlanned')} (kW)`, stroke: '#0b5cad', width: 2, dash: [6, 4] },
            { label: `${t('planGridActual')} (kW)`, stroke: '#0b5cad', width: 2 },
            { label: `${t('planBatteryPlanned')} (kW)`, stroke: '#b35900', width: 2, dash: [6, 4] },
            { label: `${t('planBatteryActual')} (kW)`, stroke: '#b35900', width: 2 },
          ],
          axes: [
            { label: timeLabel(timeZone) },
            { label: 'kW', values: (_u, ticks) => ticks.map((v) => kw(v)), size: 80 },
          ],
        },
        [
          rows.map((r) => r.startMs / 1000),
          rows.map((r) => r.plannedGrid),
          rows.map((r) => r.actualGrid),
          rows.map((r) => r.plannedBattery),
          rows.map((r) => r.actualBattery),
        ],
      ),
    ),
  );
  return box;
}

/** The tariff in force and where the plan's prices came from: stale spot prices say why. */
function priceLines(prices) {
  if (!prices) return [];
  const out = [];
  if (prices.tariff)
    out.push(
      el('p', {
        id: 'plan-tariff',
        text: t('planTariff', { id: prices.tariff.id, from: prices.tariff.validFrom }),
      }),
    );
  if (prices.stale)
    out.push(
      el('p', {
        id: 'plan-prices-stale',
        class: 'error',
        text: t('planPricesStale', { reason: prices.error ?? '' }),
      }),
    );
  if (prices.notice)
    out.push(el('p', { class: 'muted', text: t('planPricesNotice', { notice: prices.notice }) }));
  if (prices.estimatedSpotSlots > 0)
    out.push(el('p', { class: 'muted', text: t('planPricesEstimated', { n: prices.estimatedSpotSlots }) }));
  return out;
}

function decisionCard(view, timeZone) {
  const p = view.plan;
  const c = view.current;
  const card = el('section', { class: 'card', 'aria-labelledby': 'plan-now-h', id: 'plan-now' });
  card.append(el('h2', { id: 'plan-now-h', text: t('planNowTitle') }));
  const holds = view.holds ?? [];
  if (holds.length > 0)
    card.append(
      el(
        'ul',
        { id: 'plan-holds', class: 'error' },
        holds.map((h) => el('li', { text: holdText(h) })),
      ),
    );
  if (!p) {
    card.append(el('p', { text: t('planNone') }));
    return card;
  }
  if (!c) {
    card.append(el('p', { text: t('planExpired', { time: formatTime(p.createdMs, timeZone) }) }));
    return card;
  }
  card.append(
    el('p', {
      class: 'flow-value',
      id: 'plan-decision',
      text: c.setpoints.map((s) => decision(s, holds)).join(' · ') || t('planNoAssets'),
    }),
    el(
      'dl',
      { class: 'kpis' },
      el(
        'div',
        { class: 'kpi' },
        el('dt', { text: t('planPriceNow') }),
        el('dd', { text: money(c.importPrice, view.currency) }),
      ),
      el(
        'div',
        { class: 'kpi' },
        el('dt', { text: t('planMarginal') }),
        el('dd', { text: c.marginalPrice === null ? t('noValue') : money(c.marginalPrice, view.currency) }),
      ),
      el(
        'div',
        { class: 'kpi' },
        el('dt', { text: t('planSavings') }),
        el('dd', { id: 'plan-savings', text: money(p.savings, view.currency) }),
      ),
    ),
    el('h3', { text: t('planWhy') }),
    holds.length > 0
      ? el('p', { id: 'plan-held-why', text: t('planHeldWhy') })
      : c.binding.length === 0
        ? el('p', { class: 'muted', text: t('planNoBinding') })
        : el(
            'ul',
            { id: 'plan-binding' },
            c.binding.map((b) => el('li', { text: bindingText(b) })),
          ),
    ...priceLines(p.prices),
    el('p', {
      class: p.source === 'solved' ? 'muted' : 'error',
      id: 'plan-source',
      text:
        p.source === 'solved'
          ? t('planSolved', { time: formatTime(p.createdMs, timeZone), trigger: planTrigger(p.trigger) })
          : t('planKept', { message: p.message ?? '' }),
    }),
  );
  return card;
}

/** The plan page of a site (`#/site/<id>/plan`). */
export async function planPage({ page, cleanup, timeZone }, siteId, refused) {
  const res = await api(`/api/sites/${encodeURIComponent(siteId)}/plan`);
  if (res.status !== 200) return refused();
  const view = res.body;
  const rows = todayRows(view);
  page(
    t('planPageTitle', { site: siteId }),
    el('p', {}, el('a', { href: `#/site/${encodeURIComponent(siteId)}`, text: t('planBack') })),
    decisionCard(view, timeZone),
    chartCard(rows, cleanup, timeZone),
  );
}

/** The site page's card that links to the plan. */
export function planCard(siteId) {
  return el(
    'section',
    { class: 'card' },
    el('h2', { text: t('planTitle') }),
    el('p', { text: t('planCardText') }),
    el(
      'p',
      {},
      el('a', { href: `#/site/${encodeURIComponent(siteId)}/plan`, id: 'plan-link', text: t('planOpen') }),
    ),
  );
}
