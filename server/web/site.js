// The manager's site overview: power flows (grid, PV, battery, loads) from live readings.
import { api, el } from './dom.js';
import { formatTime, formatValue, lang, t } from './i18n.js';

/**
 * Loads = what the building draws = grid import + PV output + battery discharge. Signs follow
 * the points: grid import positive, PV output positive, battery positive when discharging
 * (SunSpec model 103). A flow whose points have no good value yet stays unknown (never 0).
 */
export function balance(values) {
  const { grid, pv, battery } = values;
  if (grid === null) return null;
  return grid + (pv ?? 0) + (battery ?? 0);
}

function sum(keys, latest) {
  if (keys.length === 0) return null;
  let total = 0;
  for (const k of keys) {
    const r = latest.get(k);
    if (!r || r.value === null || r.quality === 'bad') return null;
    total += r.value;
  }
  return total;
}

function tile(id, label) {
  const value = el('p', { class: 'flow-value', id: `flow-${id}-value`, text: t('noValue') });
  const detail = el('p', { class: 'muted flow-detail', id: `flow-${id}-detail`, text: '' });
  return {
    node: el('li', { class: `flow flow-${id}` }, el('h3', { text: label }), value, detail),
    set(text, more = '') {
      value.textContent = text;
      detail.textContent = more;
    },
  };
}

/** A card of the site's power flows; `show(readings)` feeds it from the live stream. */
export async function flowsCard(siteId) {
  const res = await api(`/api/sites/${encodeURIComponent(siteId)}/flows`);
  const keys = res.status === 200 ? res.body : { grid: [], pv: [], battery: [], soc: [] };
  const latest = new Map();
  const tiles = {
    grid: tile('grid', t('flowGrid')),
    pv: tile('pv', t('flowPv')),
    battery: tile('battery', t('flowBattery')),
    loads: tile('loads', t('flowLoads')),
  };
  const kw = (w) => formatValue(Math.abs(w), 'W');
  const render = () => {
    const grid = sum(keys.grid, latest);
    const pv = sum(keys.pv, latest);
    const battery = sum(keys.battery, latest);
    const soc = sum(keys.soc, latest);
    if (keys.grid.length === 0) tiles.grid.set(t('flowNone'));
    else if (grid !== null) tiles.grid.set(kw(grid), grid >= 0 ? t('flowImport') : t('flowExport'));
    if (keys.pv.length === 0) tiles.pv.set(t('flowNone'));
    else if (pv !== null) tiles.pv.set(kw(pv), t('flowProducing'));
    if (keys.battery.length === 0) tiles.battery.set(t('flowNone'));
    else if (battery !== null)
      tiles.battery.set(
        kw(battery),
        `${battery > 0 ? t('flowDischarging') : battery < 0 ? t('flowCharging') : t('flowIdle')}${
          soc === null ? '' : ` · ${t('flowSoc', { soc: formatValue(soc, '%') })}`
        }`,
      );
    const loads = balance({ grid, pv, battery });
    if (loads !== null) tiles.loads.set(kw(loads), t('flowLoadsHint'));
  };
  const node = el(
    'section',
    { class: 'card', 'aria-labelledby': 'flows-h' },
    el('h2', { id: 'flows-h', text: t('flowsTitle') }),
    el(
      'ul',
      { class: 'flows' },
      Object.values(tiles).map((x) => x.node),
    ),
  );
  return {
    node,
    show(readings) {
      for (const r of readings) latest.set(r.pointId, r);
      render();
    },
  };
}

/** Links from the site overview to its devices and its setpoint writes (managers and admins). */
export function siteLinks(siteId, role) {
  if (role !== 'admin' && role !== 'manager') return null;
  const id = encodeURIComponent(siteId);
  return el(
    'nav',
    { class: 'site-links', 'aria-label': t('siteLinks') },
    el('a', { href: `#/site/${id}/devices`, text: t('navDevices') }),
    el('a', { href: `#/site/${id}/writes`, text: t('navWrites') }),
  );
}

/**
 * Today's savings: saved so far, measured from the grid and battery meters since local midnight,
 * beside what the plans in force planned for the whole day; both against the optimiser's
 * no-control baseline (batteries idle), by one rule (GET /api/sites/:site/savings). Without a
 * plan, it says so rather than showing zero.
 */
export async function savingsCard(siteId, timeZone) {
  const res = await api(`/api/sites/${encodeURIComponent(siteId)}/savings`);
  const s = res.status === 200 ? res.body : null;
  const known = s !== null && s.plannedToday !== null && s.currency !== null;
  const money = (v) =>
    v === null
      ? t('noValue')
      : new Intl.NumberFormat(lang(), { style: 'currency', currency: s.currency }).format(v);
  const kpi = (id, label, value) =>
    el('div', { class: 'kpi' }, el('dt', { text: label }), el('dd', { id, text: value }));
  return el(
    'section',
    { class: known ? 'card' : 'card notyet', id: 'savings', 'aria-labelledby': 'savings-h' },
    el('h2', { id: 'savings-h', text: t('savingsTitle') }),
    known
      ? [
          el(
            'dl',
            { class: 'kpis' },
            kpi('savings-measured', t('savedSoFar'), money(s.savedSoFar)),
            kpi('savings-planned', t('plannedToday'), money(s.plannedToday)),
          ),
          el('p', {
            class: 'muted',
            id: 'savings-method',
            text: t('savingsMethod', {
              since: formatTime(s.fromMs, timeZone),
              measured: s.measuredSlots,
              ended: s.endedSlots,
            }),
          }),
        ]
      : [el('p', {}, el('strong', { text: t('notYet') })), el('p', { text: t('savingsNotYet') })],
  );
}
