// The manager's audit page of setpoint writes: who asked, why, old and new value, outcome.
import { api, el } from './dom.js';
import { formatTime, formatValue, pointName, t, writeWho, writeWhy } from './i18n.js';

const COLUMNS = ['time', 'point', 'writeWho', 'writeWhy', 'writeOld', 'writeNew', 'writeOutcome'];

/** A write's outcome in words, with the safety layer's or the device's reason. */
function outcome(w) {
  const text = t(`outcome_${w.outcome}`);
  return w.reason ? `${text}: ${w.reason}` : text;
}

/** New value: what was asked for and, when it differs, what was sent and read back. */
function newValue(w, unit) {
  const parts = [formatValue(w.requested, unit)];
  if (w.value !== null && w.value !== w.requested)
    parts.push(t('writeSent', { value: formatValue(w.value, unit) }));
  if (w.readBack !== null && w.readBack !== w.value)
    parts.push(t('writeReadBack', { value: formatValue(w.readBack, unit) }));
  return parts.join(' · ');
}

/** Setpoint writes to the site's devices and the safety layer's refusals, newest first. */
export async function writesPage({ siteId, site, page }) {
  const res = await api(`/api/sites/${encodeURIComponent(siteId)}/writes?limit=200`);
  const writes = res.status === 200 ? res.body.writes : [];
  const units = new Map(
    site.buildings.flatMap((b) => b.devices.flatMap((d) => d.points.map((p) => [`${d.id}/${p.id}`, p.unit]))),
  );
  const names = new Map(
    site.buildings.flatMap((b) =>
      b.devices.flatMap((d) =>
        d.points.map((p) => [`${d.id}/${p.id}`, `${d.name ?? d.id}: ${pointName(p)}`]),
      ),
    ),
  );
  page(
    t('writesTitle', { name: site.name }),
    el('p', {}, el('a', { href: `#/site/${siteId}`, text: t('backToSite') })),
    el('p', { class: 'muted', text: t('writesIntro') }),
    res.status !== 200
      ? el('p', { class: 'card error', role: 'alert', text: t('writesFailed') })
      : writes.length === 0
        ? el('p', { class: 'card', id: 'no-writes', text: t('noWrites') })
        : el(
            'div',
            { class: 'table-wrap card', tabindex: 0, role: 'region', 'aria-label': t('writesCaption') },
            el(
              'table',
              { id: 'writes' },
              el('caption', { text: t('writesCaption') }),
              el(
                'thead',
                {},
                el(
                  'tr',
                  {},
                  COLUMNS.map((k) => el('th', { scope: 'col', text: t(k) })),
                ),
              ),
              el(
                'tbody',
                {},
                writes.map((w) => {
                  const key = `${w.device}/${w.point}`;
                  const unit = units.get(key) ?? '';
                  return el(
                    'tr',
                    { class: `write-${w.outcome}` },
                    // In the site's time, as the why text says it (not the browser's).
                    el('td', { text: formatTime(Date.parse(w.ts), site.timezone) }),
                    el('th', { scope: 'row', text: names.get(key) ?? key }),
                    el('td', { text: writeWho(w.who) }),
                    el('td', { class: 'why', text: writeWhy(w.why) }),
                    el('td', { class: 'num', text: w.old === null ? '—' : formatValue(w.old, unit) }),
                    el('td', { class: 'num', text: newValue(w, unit) }),
                    el('td', { class: `outcome outcome-${w.outcome}`, text: outcome(w) }),
                  );
                }),
              ),
            ),
          ),
  );
}
