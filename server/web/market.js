import { barSeries, chartFrame, plotIn, timeOptions } from './chart.js';
import { api, el, table } from './dom.js';
import { lang, textsOf } from './i18n.js';

// The grid operator's portfolio page over the market API (/api/portfolios/…): availability per
// hour (chart and table), bids and obligations, activations with delivery against the baseline
// (refreshed live), report downloads. Texts live here, in both languages.
const TEXTS = {
  en: {
    title: 'Portfolio {name}',
    noPortfolio: 'No portfolio is assigned to you yet. Ask your administrator.',
    choosePortfolio: 'Portfolio',
    chooseProduct: 'Product',
    sites: 'Sites: {sites}',
    availability: 'Available flexibility, next 24 hours',
    availabilityHint:
      'Per hour, what can be held for the whole hour (the lowest quarter-hour), after what is already sold.',
    availabilitySummary:
      'Up (less consumption): between {upMin} and {upMax}; down (more consumption): between {downMin} and {downMax}, over {hours} hours.',
    availabilitySummaryUp: 'Up (less consumption): between {upMin} and {upMax}, over {hours} hours.',
    availabilitySummaryDown: 'Down (more consumption): between {downMin} and {downMax}, over {hours} hours.',
    availabilityEmpty: 'No availability could be computed: {reason}',
    availabilityTable: 'Show the hourly numbers as a table',
    hour: 'Hour ({zone})',
    up: 'Up',
    down: 'Down',
    bids: 'Bids and obligations',
    noBids: 'No bids in the next 24 hours.',
    period: 'Period',
    product: 'Product',
    power: 'Power',
    price: 'Price',
    status: 'Status',
    accepted: 'obligation',
    open: 'offered',
    pricePerMwh: '{price} per MW and hour',
    priceNoCurrency: '{price} per MW and hour (currency unknown: no plan yet)',
    pricesIn: 'Prices in {currency}, the currency of the sites’ tariff.',
    pricesInUnknown: 'The sites’ currency is not known yet (no plan), or they differ.',
    activations: 'Activations and events, last 7 days',
    noActivations: 'No activations in the last 7 days.',
    activation: 'Activation',
    state: 'State',
    requested: 'Requested',
    dispatched: 'Dispatched now',
    baseline: 'Baseline',
    metered: 'Metered',
    delivered: 'Delivered',
    ratio: 'Performance',
    noReport: 'no report yet',
    start: 'Start',
    reports: 'Delivery reports',
    reportsHint: 'Settlement rows of the activations of the last 30 days.',
    frequency: 'Frequency response (FCR, FFR), last 24 hours',
    frequencyHint:
      'Per hour and site: the capacity held, the energy the grid frequency asked for and what the reserve units’ own meters delivered in that direction, from the proof stored each second.',
    noFrequency: 'No frequency-response obligation in the last 24 hours.',
    site: 'Site',
    held: 'Held',
    covered: 'Covered',
    minutes: '{n} min',
    downloadCsv: 'Download CSV',
    downloadJson: 'Download JSON',
    state_received: 'received',
    state_dispatching: 'dispatching',
    state_active: 'active',
    state_restoring: 'restoring',
    state_completed: 'completed',
    state_failed: 'failed',
    state_cancelled: 'cancelled',
    updated: 'Activation {id} is now {state}.',
    action: 'Action',
    accept: 'Accept',
    acceptLabel: 'Accept the bid for {period}',
    acceptConfirm:
      'Accept the {product} bid for {period}: {power} at {price}? It becomes an obligation to deliver.',
    acceptDone: 'Bid accepted: it is now an obligation.',
    refused: 'Refused: {message}',
    callTitle: 'Call an activation',
    callHint: 'Calls the portfolio’s sites now, within what it holds for this hour.',
    callProduct: 'Product',
    callDirection: 'Direction',
    callUp: 'up (less consumption)',
    callDown: 'down (more consumption)',
    callKw: 'Power (kW)',
    callMinutes: 'Duration (minutes)',
    callSubmit: 'Call activation',
    callConfirm:
      'Call {product} now: {power} {direction} for {minutes} minutes? The sites’ devices will be moved.',
    callDone: 'Activation {id} posted.',
  },
  de: {
    title: 'Portfolio {name}',
    noPortfolio: 'Ihnen ist noch kein Portfolio zugewiesen. Fragen Sie Ihre Administration.',
    choosePortfolio: 'Portfolio',
    chooseProduct: 'Produkt',
    sites: 'Standorte: {sites}',
    availability: 'Verfügbare Flexibilität, nächste 24 Stunden',
    availabilityHint:
      'Je Stunde, was die ganze Stunde gehalten werden kann (die schwächste Viertelstunde), nach Abzug des bereits Verkauften.',
    availabilitySummary:
      'Positiv (weniger Verbrauch): zwischen {upMin} und {upMax}; negativ (mehr Verbrauch): zwischen {downMin} und {downMax}, über {hours} Stunden.',
    availabilitySummaryUp: 'Positiv (weniger Verbrauch): zwischen {upMin} und {upMax}, über {hours} Stunden.',
    availabilitySummaryDown:
      'Negativ (mehr Verbrauch): zwischen {downMin} und {downMax}, über {hours} Stunden.',
    availabilityEmpty: 'Die Verfügbarkeit konnte nicht berechnet werden: {reason}',
    availabilityTable: 'Stundenwerte als Tabelle zeigen',
    hour: 'Stunde ({zone})',
    up: 'Positiv',
    down: 'Negativ',
    bids: 'Gebote und Verpflichtungen',
    noBids: 'Keine Gebote in den nächsten 24 Stunden.',
    period: 'Zeitraum',
    product: 'Produkt',
    power: 'Leistung',
    price: 'Preis',
    status: 'Status',
    accepted: 'Verpflichtung',
    open: 'angeboten',
    pricePerMwh: '{price} pro MW und Stunde',
    priceNoCurrency: '{price} pro MW und Stunde (Währung unbekannt: noch kein Plan)',
    pricesIn: 'Preise in {currency}, der Währung des Tarifs der Standorte.',
    pricesInUnknown:
      'Die Währung der Standorte ist noch nicht bekannt (kein Plan), oder sie unterscheiden sich.',
    activations: 'Abrufe und Ereignisse, letzte 7 Tage',
    noActivations: 'Keine Abrufe in den letzten 7 Tagen.',
    activation: 'Abruf',
    state: 'Zustand',
    requested: 'Angefordert',
    dispatched: 'Jetzt verteilt',
    baseline: 'Referenz (Baseline)',
    metered: 'Gemessen',
    delivered: 'Erbracht',
    ratio: 'Erfüllung',
    noReport: 'noch kein Bericht',
    start: 'Beginn',
    reports: 'Erbringungsnachweise',
    reportsHint: 'Abrechnungszeilen der Abrufe der letzten 30 Tage.',
    frequency: 'Frequenzhaltung (FCR, FFR), letzte 24 Stunden',
    frequencyHint:
      'Pro Stunde und Standort: die vorgehaltene Leistung, die von der Netzfrequenz angeforderte Energie und was die Zähler der Reserveeinheiten in dieser Richtung erbracht haben, aus dem sekündlich gespeicherten Nachweis.',
    noFrequency: 'Keine Frequenzhaltung in den letzten 24 Stunden.',
    site: 'Standort',
    held: 'Vorgehalten',
    covered: 'Erfasst',
    minutes: '{n} min',
    downloadCsv: 'CSV herunterladen',
    downloadJson: 'JSON herunterladen',
    state_received: 'empfangen',
    state_dispatching: 'wird verteilt',
    state_active: 'aktiv',
    state_restoring: 'Rückführung',
    state_completed: 'abgeschlossen',
    state_failed: 'fehlgeschlagen',
    state_cancelled: 'abgebrochen',
    updated: 'Abruf {id} ist jetzt {state}.',
    action: 'Aktion',
    accept: 'Annehmen',
    acceptLabel: 'Das Gebot für {period} annehmen',
    acceptConfirm:
      'Das {product}-Gebot für {period} annehmen: {power} zu {price}? Es wird zur Lieferverpflichtung.',
    acceptDone: 'Gebot angenommen: Es ist jetzt eine Verpflichtung.',
    refused: 'Abgelehnt: {message}',
    callTitle: 'Abruf auslösen',
    callHint: 'Ruft die Standorte des Portfolios jetzt ab, im Rahmen dessen, was es für diese Stunde hält.',
    callProduct: 'Produkt',
    callDirection: 'Richtung',
    callUp: 'positiv (weniger Verbrauch)',
    callDown: 'negativ (mehr Verbrauch)',
    callKw: 'Leistung (kW)',
    callMinutes: 'Dauer (Minuten)',
    callSubmit: 'Abruf auslösen',
    callConfirm:
      '{product} jetzt abrufen: {power} {direction} für {minutes} Minuten? Die Geräte der Standorte werden verstellt.',
    callDone: 'Abruf {id} gesendet.',
  },
};

const tm = textsOf(TEXTS);

const H = 3_600_000;
const FINAL = ['completed', 'failed', 'cancelled'];
const nf = (digits) => new Intl.NumberFormat(lang(), { maximumFractionDigits: digits });
const kw = (v) => `${nf(1).format(v)} kW`;
const kwh = (wh) => `${nf(1).format(wh / 1000)} kWh`;
// Times in the portfolio's time zone (its sites'), not the browser's.
const time = (ms, timeZone) =>
  new Intl.DateTimeFormat(lang(), { dateStyle: 'short', timeStyle: 'short', timeZone }).format(new Date(ms));
const hourLabel = (ms, timeZone) =>
  new Intl.DateTimeFormat(lang(), { weekday: 'short', hour: '2-digit', minute: '2-digit', timeZone }).format(
    new Date(ms),
  );
/** The one value all sites share (time zone, currency), else null. */
const shared = (values) => (new Set(values).size === 1 ? values[0] : null);
const iso = (ms) => new Date(ms).toISOString();
const q = (params) => new URLSearchParams(params).toString();

/**
 * Quarter-hour slots → hours: what can be held for the whole hour is its weakest slot. Slots
 * that have ended are left out (nothing can be sold for the past).
 */
export function hourly(slots, nowMs) {
  const hours = new Map();
  for (const s of slots) {
    if (s.endMs <= nowMs) continue;
    const h = Math.floor(s.startMs / H) * H;
    const cur = hours.get(h);
    hours.set(
      h,
      cur
        ? { startMs: h, upKw: Math.min(cur.upKw, s.upKw), downKw: Math.min(cur.downKw, s.downKw) }
        : { startMs: h, upKw: s.upKw, downKw: s.downKw },
    );
  }
  return [...hours.values()].sort((a, b) => a.startMs - b.startMs);
}

/**
 * Availability per hour in the directions the product trades (an up-only product shows no
 * "down" figure), as bars with a kW axis, hours in the portfolio's time zone.
 */
function availabilityChart(container, hours, { direction, timeZone }, cleanup) {
  const ups = hours.map((h) => h.upKw);
  const downs = hours.map((h) => h.downKw);
  const range = (xs) => ({ min: kw(Math.min(...xs)), max: kw(Math.max(...xs)) });
  const up = range(ups);
  const down = range(downs);
  const key =
    direction === 'up'
      ? 'availabilitySummaryUp'
      : direction === 'down'
        ? 'availabilitySummaryDown'
        : 'availabilitySummary';
  const summary = tm(key, {
    upMin: up.min,
    upMax: up.max,
    downMin: down.min,
    downMax: down.max,
    hours: hours.length,
  });
  const showUp = direction !== 'down';
  const showDown = direction !== 'up';
  const figure = chartFrame(container, {
    summary,
    summaryId: 'availability-summary',
    toggle: tm('availabilityTable'),
    caption: tm('availability'),
    head: [
      tm('hour', { zone: timeZone ?? 'UTC' }),
      ...(showUp ? [`${tm('up')} (kW)`] : []),
      ...(showDown ? [`${tm('down')} (kW)`] : []),
    ],
    rows: hours.map((h) =>
      el(
        'tr',
        {},
        el('th', { scope: 'row', text: hourLabel(h.startMs, timeZone) }),
        showUp ? el('td', { class: 'num', text: kw(h.upKw) }) : null,
        showDown ? el('td', { class: 'num', text: kw(h.downKw) }) : null,
      ),
    ),
  });
  const both = showUp && showDown;
  cleanup.push(
    plotIn(
      figure,
      container,
      {
        height: 240,
        ...timeOptions(timeZone),
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] } },
        series: [
          { label: tm('hour', { zone: timeZone ?? 'UTC' }) },
          ...(showUp
            ? [
                barSeries(`${tm('up')} (kW)`, '#0b5cad', '#4a90d9', {
                  align: both ? 1 : 0,
                  size: [both ? 0.4 : 0.7, 30],
                }),
              ]
            : []),
          ...(showDown
            ? [
                barSeries(`${tm('down')} (kW)`, '#8a4b00', '#d98c2b', {
                  align: both ? -1 : 0,
                  size: [both ? 0.4 : 0.7, 30],
                }),
              ]
            : []),
        ],
        axes: [{}, { label: 'kW', size: 60 }],
      },
      [hours.map((h) => h.startMs / 1000 + 1800), ...(showUp ? [ups] : []), ...(showDown ? [downs] : [])],
    ),
  );
}

async function availabilitySection(portfolio, product, view, nowMs, cleanup) {
  const box = el('section', { class: 'card', id: 'availability', 'aria-labelledby': 'availability-h' });
  box.append(
    el('h2', { id: 'availability-h', text: tm('availability') }),
    el('p', { class: 'muted', text: tm('availabilityHint') }),
  );
  const from = Math.floor(nowMs / H) * H;
  const res = await api(
    `/api/portfolios/${encodeURIComponent(portfolio.id)}/availability?${q({ product, from: iso(from), to: iso(from + 24 * H) })}`,
  );
  const hours = res.status === 200 ? hourly(res.body.slots, nowMs) : [];
  if (hours.length === 0)
    box.append(
      el('p', { role: 'status', text: tm('availabilityEmpty', { reason: res.body?.message ?? res.status }) }),
    );
  else availabilityChart(box, hours, view, cleanup);
  return box;
}

/** Bids of the next 24 hours (those whose period has ended are left out), priced in the sites' currency. */
/** The refusal of an API call in words (the server's message, which names the field or the limit). */
const refusal = (res) => tm('refused', { message: res.body?.message ?? `HTTP ${res.status}` });

async function bidsSection(portfolio, { currency, timeZone }, nowMs, redraw) {
  const from = Math.floor(nowMs / H) * H;
  const res = await api(
    `/api/portfolios/${encodeURIComponent(portfolio.id)}/bids?${q({ from: iso(from), to: iso(from + 24 * H) })}`,
  );
  const bids = res.status === 200 ? res.body.bids.filter(({ bid }) => bid.endMs > nowMs) : [];
  const price = (cents) =>
    currency
      ? tm('pricePerMwh', {
          price: new Intl.NumberFormat(lang(), { style: 'currency', currency }).format(cents / 100),
        })
      : tm('priceNoCurrency', { price: nf(2).format(cents / 100) });
  const obligations = new Map((res.status === 200 ? res.body.obligations : []).map((o) => [o.id, o]));
  const message = el('p', { id: 'bids-message', role: 'alert' });
  // An offered bid for a period not yet begun can be accepted, after a confirmation.
  const acceptButton = (bid) => {
    const period = `${time(bid.startMs, timeZone)}–${time(bid.endMs, timeZone)}`;
    const button = el('button', {
      type: 'button',
      text: tm('accept'),
      'aria-label': tm('acceptLabel', { period }),
    });
    button.addEventListener('click', async () => {
      const ask = tm('acceptConfirm', {
        product: bid.productId,
        period,
        power: kw(bid.kw),
        price: price(bid.priceCentsPerMwh),
      });
      if (!window.confirm(ask)) return;
      button.disabled = true;
      const done = await api(`/api/portfolios/${encodeURIComponent(portfolio.id)}/acceptances`, {
        method: 'POST',
        body: { productId: bid.productId, acceptances: [{ bidId: bid.id }] },
      });
      if (done.status === 201) return redraw(tm('acceptDone'));
      button.disabled = false;
      message.textContent = refusal(done);
    });
    return button;
  };
  return el(
    'section',
    { class: 'card', id: 'bids', 'aria-labelledby': 'bids-h' },
    el('h2', { id: 'bids-h', text: tm('bids') }),
    message,
    el('p', {
      class: 'muted',
      id: 'bids-currency',
      text: currency ? tm('pricesIn', { currency }) : tm('pricesInUnknown'),
    }),
    bids.length === 0
      ? el('p', { text: tm('noBids') })
      : table(
          tm('bids'),
          [tm('period'), tm('product'), tm('power'), tm('price'), tm('status'), tm('action')],
          bids.map(({ bid, accepted }) => {
            const held = obligations.get(bid.id);
            return el(
              'tr',
              { 'data-bid': bid.id },
              el('th', { scope: 'row', text: `${time(bid.startMs, timeZone)}–${time(bid.endMs, timeZone)}` }),
              el('td', { class: 'num', text: bid.productId }),
              el('td', { class: 'num', text: kw(held?.kw ?? bid.kw) }),
              el('td', { class: 'num', text: price(held?.priceCentsPerMwh ?? bid.priceCentsPerMwh) }),
              el('td', { class: 'num', text: accepted ? tm('accepted') : tm('open') }),
              el('td', {}, !accepted && bid.startMs > nowMs ? acceptButton(bid) : null),
            );
          }),
        ),
  );
}

async function activationsBody(portfolio, timeZone, nowMs) {
  const range = q({ from: iso(nowMs - 7 * 24 * H), to: iso(nowMs + 24 * H) });
  const base = `/api/portfolios/${encodeURIComponent(portfolio.id)}`;
  const [events, reports] = await Promise.all([
    api(`${base}/events?${range}`),
    api(`${base}/reports?${range}&format=json`),
  ]);
  const list = events.status === 200 ? events.body.events : [];
  if (list.length === 0) return el('p', { text: tm('noActivations') });
  const rows = reports.status === 200 ? reports.body.rows : [];
  const total = new Map(rows.filter((r) => r.siteId === 'portfolio').map((r) => [r.activationId, r]));
  // Running activations: what the executor has placed at the devices right now.
  const running = list.filter((a) => !FINAL.includes(a.state));
  const statuses = await Promise.all(running.map((a) => api(`${base}/events/${encodeURIComponent(a.id)}`)));
  const dispatched = new Map(
    running.map((a, i) => {
      const sites = statuses[i].status === 200 ? (statuses[i].body.execution?.sites ?? []) : [];
      return [a.id, sites.reduce((sum, x) => sum + x.dispatchedKw, 0)];
    }),
  );
  return table(
    tm('activations'),
    [
      tm('activation'),
      tm('start'),
      tm('state'),
      tm('requested'),
      tm('dispatched'),
      tm('baseline'),
      tm('metered'),
      tm('delivered'),
      tm('ratio'),
    ],
    list.map((a) => {
      const r = total.get(a.id);
      const cells = r
        ? [
            kwh(r.baselineWh),
            kwh(r.meteredWh),
            kwh(r.deliveredWh),
            `${nf(1).format(r.performanceRatio * 100)} %`,
          ]
        : [tm('noReport'), '', '', ''];
      return el(
        'tr',
        { 'data-activation': a.id },
        el('th', { scope: 'row', text: `${a.id} · ${a.productId}` }),
        el('td', { class: 'num', text: time(a.request.startMs, timeZone) }),
        el('td', { class: 'num', text: tm(`state_${a.state}`) }),
        el('td', { class: 'num', text: kw(a.request.kw) }),
        el('td', { class: 'num', text: dispatched.has(a.id) ? kw(dispatched.get(a.id)) : '' }),
        cells.map((c) => el('td', { class: 'num', text: c })),
      );
    }),
  );
}

/**
 * The operator's call of an activation of a product it calls itself (a DR event, mFRR): product,
 * direction where the product is symmetric, kW and duration, confirmed before it is posted.
 * The server refuses what the portfolio does not hold now, naming the obligation and the kW left.
 */
function callForm(portfolio, products, redraw) {
  const callable = products.filter((p) => p.operatorActivated);
  if (callable.length === 0) return null;
  const product = el(
    'select',
    { id: 'call-product', name: 'product' },
    // By id, as the product choice above: the catalogue's names are English only.
    callable.map((p) => el('option', { value: p.id, text: p.id })),
  );
  const direction = el(
    'select',
    { id: 'call-direction', name: 'direction' },
    el('option', { value: 'up', text: tm('callUp') }),
    el('option', { value: 'down', text: tm('callDown') }),
  );
  const kwInput = el('input', {
    id: 'call-kw',
    name: 'kw',
    type: 'number',
    min: '0.1',
    step: '0.1',
    required: true,
  });
  const minutes = el('input', {
    id: 'call-minutes',
    name: 'minutes',
    type: 'number',
    min: '1',
    max: '1440',
    step: '1',
    value: '30',
    required: true,
  });
  const message = el('p', { id: 'call-message', role: 'alert' });
  const chosen = () => callable.find((p) => p.id === product.value);
  const fitDirection = () => {
    const p = chosen();
    direction.disabled = p?.direction !== 'symmetric';
    if (p && p.direction !== 'symmetric') direction.value = p.direction;
  };
  product.addEventListener('change', fitDirection);
  fitDirection();
  const form = el(
    'form',
    { id: 'call', 'aria-labelledby': 'call-h' },
    el('h3', { id: 'call-h', text: tm('callTitle') }),
    el('p', { class: 'muted', text: tm('callHint') }),
    el('p', {}, el('label', { for: 'call-product', text: `${tm('callProduct')} ` }), product),
    el('p', {}, el('label', { for: 'call-direction', text: `${tm('callDirection')} ` }), direction),
    el('p', {}, el('label', { for: 'call-kw', text: `${tm('callKw')} ` }), kwInput),
    el('p', {}, el('label', { for: 'call-minutes', text: `${tm('callMinutes')} ` }), minutes),
    el('p', {}, el('button', { type: 'submit', text: tm('callSubmit') })),
    message,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const p = chosen();
    const power = Number(kwInput.value);
    const mins = Number(minutes.value);
    const ask = tm('callConfirm', {
      product: p.id,
      power: kw(power),
      direction: tm(direction.value === 'up' ? 'callUp' : 'callDown'),
      minutes: String(mins),
    });
    if (!window.confirm(ask)) return;
    const id = `web-${Date.now()}`;
    const res = await api(`/api/portfolios/${encodeURIComponent(portfolio.id)}/events`, {
      method: 'POST',
      body: {
        id,
        productId: p.id,
        kw: power,
        durationMs: Math.round(mins * 60_000),
        ...(p.direction === 'symmetric' ? { direction: direction.value } : {}),
      },
    });
    if (res.status === 201 || res.status === 200) return redraw(tm('callDone', { id }));
    message.textContent = refusal(res);
  });
  return form;
}

function reportsSection(portfolio, nowMs) {
  const range = { from: iso(nowMs - 30 * 24 * H), to: iso(nowMs + 24 * H) };
  const href = (format) =>
    `/api/portfolios/${encodeURIComponent(portfolio.id)}/reports?${q({ ...range, format })}`;
  return el(
    'section',
    { class: 'card', id: 'reports', 'aria-labelledby': 'reports-h' },
    el('h2', { id: 'reports-h', text: tm('reports') }),
    el('p', { class: 'muted', text: tm('reportsHint') }),
    el(
      'p',
      { class: 'actions' },
      el('a', {
        class: 'button',
        href: href('csv'),
        download: `gridflex-${portfolio.id}.csv`,
        text: tm('downloadCsv'),
      }),
      ' ',
      el('a', {
        class: 'button',
        href: href('json'),
        download: `gridflex-${portfolio.id}.json`,
        text: tm('downloadJson'),
      }),
    ),
  );
}

/**
 * FCR/FFR hours of the last day, settled from the proof the controller stores (per hour and
 * site: held kW, requested and delivered energy, ratio, minutes the proof covers).
 */
async function frequencySection(portfolio, timeZone, nowMs) {
  const res = await api(
    `/api/portfolios/${encodeURIComponent(portfolio.id)}/frequency-settlement?${q({ from: iso(nowMs - 24 * H), to: iso(nowMs + H) })}`,
  );
  const rows = res.status === 200 ? res.body.rows : [];
  return el(
    'section',
    { class: 'card', id: 'frequency', 'aria-labelledby': 'frequency-h' },
    el('h2', { id: 'frequency-h', text: tm('frequency') }),
    el('p', { class: 'muted', text: tm('frequencyHint') }),
    rows.length === 0
      ? el('p', { text: tm('noFrequency') })
      : table(
          tm('frequency'),
          [
            tm('hour', { zone: timeZone ?? 'UTC' }),
            tm('site'),
            tm('product'),
            tm('held'),
            tm('requested'),
            tm('delivered'),
            tm('ratio'),
            tm('covered'),
          ],
          rows.map((r) =>
            el(
              'tr',
              { 'data-site': r.siteId },
              el('th', { scope: 'row', text: time(Date.parse(r.start), timeZone) }),
              el('td', { text: r.siteId }),
              el('td', { text: r.productId }),
              el('td', { class: 'num', text: kw(r.heldKw) }),
              el('td', { class: 'num', text: kwh(r.requestedWh) }),
              el('td', { class: 'num', text: r.deliveryMeteredS > 0 ? kwh(r.deliveredWh) : '' }),
              el('td', {
                class: 'num',
                text: r.performanceRatio === null ? '' : `${nf(1).format(r.performanceRatio * 100)} %`,
              }),
              el('td', { class: 'num', text: tm('minutes', { n: Math.floor(r.coveredS / 60) }) }),
            ),
          ),
        ),
  );
}

/** The operator's page: one portfolio (chosen when the caller sees several) and one product at a time. */
export async function portfolioPage({ page, cleanup }, choice = {}, notice = '') {
  const res = await api('/api/portfolios');
  const portfolios = res.status === 200 ? res.body.portfolios : [];
  if (portfolios.length === 0) return page(tm('title', { name: '' }), el('p', { text: tm('noPortfolio') }));
  const portfolio = portfolios.find((p) => p.id === choice.portfolio) ?? portfolios[0];
  const product = portfolio.products.includes(choice.product) ? choice.product : portfolio.products[0];
  const nowMs = Date.now();
  const redraw = (next, said = '') => {
    for (const undo of cleanup.splice(0)) undo();
    return portfolioPage({ page, cleanup }, next, said);
  };
  // After an acceptance or a call: the page again, saying what was done.
  const again = (said) => redraw({ portfolio: portfolio.id, product }, said);
  const portfolioSelect = el(
    'select',
    { id: 'portfolio-choice' },
    portfolios.map((p) => el('option', { value: p.id, text: p.name, selected: p.id === portfolio.id })),
  );
  portfolioSelect.addEventListener('change', () => redraw({ portfolio: portfolioSelect.value }));
  const productSelect = el(
    'select',
    { id: 'product-choice' },
    portfolio.products.map((p) => el('option', { value: p, text: p, selected: p === product })),
  );
  productSelect.addEventListener('change', () =>
    redraw({ portfolio: portfolio.id, product: productSelect.value }),
  );

  // The sites' currency and time zone, and the products' directions (null: the sites differ).
  const viewRes = await api(`/api/portfolios/${encodeURIComponent(portfolio.id)}/view`);
  const sites = viewRes.status === 200 ? viewRes.body.sites : [];
  const view = {
    currency: shared(sites.map((x) => x.currency)),
    timeZone: shared(sites.map((x) => x.timezone)) ?? undefined,
    direction:
      (viewRes.status === 200 ? viewRes.body.products : []).find((x) => x.id === product)?.direction ??
      'symmetric',
  };
  const activationsBox = el(
    'div',
    { id: 'activations-body' },
    await activationsBody(portfolio, view.timeZone, nowMs),
  );
  const live = el('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const products = viewRes.status === 200 ? viewRes.body.products : [];
  page(
    tm('title', { name: portfolio.name }),
    el('p', {
      class: 'muted',
      text: tm('sites', { sites: sites.map((x) => x.name).join(', ') || portfolio.sites.join(', ') }),
    }),
    notice ? el('p', { id: 'notice', role: 'status', text: notice }) : null,
    el(
      'p',
      { class: 'choices' },
      portfolios.length > 1
        ? el('label', { for: 'portfolio-choice', text: `${tm('choosePortfolio')} ` })
        : null,
      portfolios.length > 1 ? portfolioSelect : null,
      ' ',
      el('label', { for: 'product-choice', text: `${tm('chooseProduct')} ` }),
      productSelect,
    ),
    await availabilitySection(portfolio, product, view, nowMs, cleanup),
    await bidsSection(portfolio, view, nowMs, again),
    el(
      'section',
      { class: 'card', id: 'activations', 'aria-labelledby': 'activations-h' },
      el('h2', { id: 'activations-h', text: tm('activations') }),
      activationsBox,
      live,
      callForm(portfolio, products, again),
    ),
    await frequencySection(portfolio, view.timeZone, nowMs),
    reportsSection(portfolio, nowMs),
  );

  // Activations change state on their own (dispatch, restore): the table follows the stream.
  const source = new EventSource(`/api/portfolios/${encodeURIComponent(portfolio.id)}/live`);
  source.addEventListener('activation', async (e) => {
    const u = JSON.parse(e.data);
    live.textContent = tm('updated', { id: u.activationId, state: tm(`state_${u.state}`) });
    activationsBox.replaceChildren(await activationsBody(portfolio, view.timeZone, Date.now()));
  });
  cleanup.push(() => source.close());
}
