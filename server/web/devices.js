// The manager's devices page: add from a profile, test the connection, map points, save, and
// watch the saved device's live values.
import { api, el, table } from './dom.js';
import { lang, t } from './i18n.js';

/** Points a profile offers by default: its registers that are named like a point kind. */
function defaultPoints(profile, profiles) {
  if (profile === 'sunspec') return [{ id: 'power', kind: 'active_power', register: '203.W' }];
  const p = profiles.find((x) => x.id === profile);
  if (!p) return [{ id: 'power', kind: 'active_power', register: '' }];
  const asKind = {
    power: 'active_power',
    energy_import: 'energy_import',
    energy_export: 'energy_export',
    frequency: 'frequency',
  };
  return p.registers
    .filter((r) => asKind[r.name])
    .map((r) => ({ id: r.name, kind: asKind[r.name], register: r.name }));
}

function field(id, label, input) {
  return el('div', { class: 'field' }, el('label', { for: id, text: label }), input);
}

/** The form field a server-side issue is about (`params.device` and `device.id` are the id field). */
const FIELDS = {
  'params.device': 'dev-id',
  'device.id': 'dev-id',
  'device.name': 'dev-name',
  building: 'dev-building',
  'device.profile': 'dev-profile',
  'device.connection.host': 'dev-host',
  'device.connection.port': 'dev-port',
  'device.connection.unitId': 'dev-unit',
  'device.connection.endpointUrl': 'dev-endpoint',
};

/**
 * What the server refused, each problem once: a known field is named by its label (without the
 * hint in brackets) and marked invalid, not by its path (`params.device`); else the message.
 */
function issuesList(body, form) {
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
  const issues = body?.details?.issues ?? [];
  const lines = [
    ...new Set(
      issues.map((i) => {
        const input = FIELDS[i.path] ? form.querySelector(`#${FIELDS[i.path]}`) : null;
        if (!input) return `${i.path}: ${i.message}`;
        input.setAttribute('aria-invalid', 'true');
        const label = form.querySelector(`label[for="${input.id}"]`)?.textContent.replace(/\s*\(.*\)$/, '');
        return `${label}: ${i.message}`;
      }),
    ),
  ];
  return el(
    'div',
    { role: 'alert', class: 'error' },
    lines.length === 0
      ? el('p', { text: body?.message ?? t('loginError') })
      : lines.length === 1
        ? el('p', { text: lines[0] })
        : el(
            'ul',
            {},
            lines.map((line) => el('li', { text: line })),
          ),
  );
}

/** A value in its point's own unit, so it agrees with the unit column (no kW from W). */
const inUnit = (value, unit) =>
  value === null || value === undefined
    ? '—'
    : `${new Intl.NumberFormat(lang(), { maximumFractionDigits: 3 }).format(value)} ${unit}`.trim();

function readingsTable(caption, rows) {
  return table(
    caption,
    ['point', 'value', 'unit', 'quality'].map((k) => t(k)),
    rows,
    { showCaption: true, numeric: (i) => i === 1 },
  );
}

/** Devices of a site: the list, and the form to add one or change its point mapping. */
export async function devicesPage({ siteId, site, page, cleanup, status }) {
  const [profilesRes, savedRes] = await Promise.all([
    api('/api/profiles'),
    api(`/api/sites/${encodeURIComponent(siteId)}/devices`),
  ]);
  const profiles = profilesRes.status === 200 ? profilesRes.body.profiles : [];
  const kinds = profilesRes.status === 200 ? profilesRes.body.pointKinds : ['active_power'];
  const saved = savedRes.status === 200 ? savedRes.body.devices : [];
  const buildings = site.buildings.map((b) => b.id);

  const input = (id, attrs = {}) => el('input', { id, name: id, ...attrs });
  const protocol = el(
    'select',
    { id: 'dev-protocol' },
    el('option', { value: 'modbus', text: 'Modbus TCP' }),
    el('option', { value: 'opcua', text: 'OPC UA' }),
  );
  const profile = el(
    'select',
    { id: 'dev-profile' },
    [...profiles.map((p) => p.id), 'sunspec'].map((id) => el('option', { value: id, text: id })),
  );
  const building = el(
    'select',
    { id: 'dev-building' },
    buildings.map((b) => el('option', { value: b, text: b })),
  );
  const devId = input('dev-id', { required: true, autocapitalize: 'none', pattern: '[a-z0-9_-]+' });
  const devName = input('dev-name');
  const host = input('dev-host', { value: '127.0.0.1' });
  const port = input('dev-port', { type: 'number', value: '502', min: '1', max: '65535' });
  const unitId = input('dev-unit', { type: 'number', value: '1', min: '0', max: '255' });
  const endpoint = input('dev-endpoint', { value: 'opc.tcp://127.0.0.1:4840' });
  const modbusFields = el(
    'fieldset',
    { class: 'modbus' },
    el('legend', { text: 'Modbus' }),
    field('dev-profile', t('devProfile'), profile),
    field('dev-host', t('devHost'), host),
    field('dev-port', t('devPort'), port),
    field('dev-unit', t('devUnit'), unitId),
  );
  const opcuaFields = el(
    'fieldset',
    { class: 'opcua', hidden: true },
    el('legend', { text: 'OPC UA' }),
    field('dev-endpoint', t('devEndpoint'), endpoint),
  );

  // Point mapping: one row per point (id, kind, register or node id).
  const pointRows = el('tbody', {});
  const addPointRow = (p = { id: '', kind: 'active_power', register: '' }) => {
    const n = pointRows.children.length;
    const idIn = el('input', { 'aria-label': t('pointId', { n: n + 1 }), value: p.id, class: 'pt-id' });
    const kindSel = el(
      'select',
      { 'aria-label': t('pointKind', { n: n + 1 }), class: 'pt-kind' },
      kinds.map((k) => el('option', { value: k, text: k, selected: k === p.kind })),
    );
    const regIn = el('input', {
      'aria-label': t('pointRegister', { n: n + 1 }),
      value: p.register ?? p.nodeId ?? '',
      class: 'pt-reg',
    });
    const unitIn = el('input', {
      'aria-label': t('pointUnit', { n: n + 1 }),
      value: p.unit ?? '',
      class: 'pt-unit',
      size: 4,
    });
    const remove = el('button', { type: 'button', class: 'secondary', text: t('remove') });
    const row = el(
      'tr',
      {},
      el('td', {}, idIn),
      el('td', {}, kindSel),
      el('td', {}, regIn),
      el('td', {}, unitIn),
      el('td', {}, remove),
    );
    remove.addEventListener('click', () => row.remove());
    pointRows.append(row);
  };
  const setPoints = (points) => {
    pointRows.replaceChildren();
    for (const p of points) addPointRow(p);
  };
  const addPoint = el('button', { type: 'button', class: 'secondary', text: t('addPoint') });
  addPoint.addEventListener('click', () => addPointRow());
  const showProtocol = () => {
    modbusFields.hidden = protocol.value !== 'modbus';
    opcuaFields.hidden = protocol.value !== 'opcua';
  };
  protocol.addEventListener('change', () => {
    showProtocol();
    setPoints(
      protocol.value === 'opcua'
        ? [{ id: 'power', kind: 'active_power', register: 'ns=2;s=' }]
        : defaultPoints(profile.value, profiles),
    );
  });
  profile.addEventListener('change', () => setPoints(defaultPoints(profile.value, profiles)));

  /** The gateway device the form describes; the server validates it and names bad fields. */
  const device = () => {
    const points = [...pointRows.children].map((row) => {
      const id = row.querySelector('.pt-id').value.trim();
      const kind = row.querySelector('.pt-kind').value;
      const ref = row.querySelector('.pt-reg').value.trim();
      const unit = row.querySelector('.pt-unit').value.trim();
      const p = { id, kind, ...(unit ? { unit } : {}) };
      if (protocol.value === 'opcua') return { ...p, nodeId: ref };
      return ref && ref !== id ? { ...p, register: ref } : p;
    });
    const common = {
      id: devId.value.trim(),
      ...(devName.value.trim() ? { name: devName.value.trim() } : {}),
      points,
    };
    return protocol.value === 'opcua'
      ? {
          ...common,
          protocol: 'opcua',
          connection: { endpointUrl: endpoint.value.trim(), securityMode: 'None', securityPolicy: 'None' },
        }
      : {
          ...common,
          protocol: 'modbus',
          profile: profile.value,
          connection: {
            transport: 'tcp',
            host: host.value.trim(),
            port: Number(port.value),
            unitId: Number(unitId.value),
          },
        };
  };

  const result = el('div', { id: 'dev-result', 'aria-live': 'polite' });
  const testBtn = el('button', { type: 'button', id: 'dev-test', text: t('testConnection') });
  const saveBtn = el('button', { type: 'submit', id: 'dev-save', text: t('saveDevice') });
  const form = el(
    'form',
    { class: 'card device-form', 'aria-labelledby': 'dev-form-h', novalidate: true },
    el('h2', { id: 'dev-form-h', text: t('addDevice') }),
    field('dev-id', t('devId'), devId),
    field('dev-name', t('devName'), devName),
    field('dev-building', t('devBuilding'), building),
    field('dev-protocol', t('devProtocol'), protocol),
    modbusFields,
    opcuaFields,
    table(
      t('pointMapping'),
      ['pointIdH', 'pointKindH', 'pointRegisterH', 'unit', ''].map((k) => (k ? t(k) : '')),
      pointRows,
      { className: 'points-editor', showCaption: true, numeric: () => false },
    ),
    el('p', {}, addPoint),
    el('p', { class: 'actions' }, testBtn, saveBtn),
    result,
  );

  testBtn.addEventListener('click', async () => {
    result.replaceChildren(el('p', { text: t('testing') }));
    const res = await api(`/api/sites/${encodeURIComponent(siteId)}/devices/test`, {
      method: 'POST',
      body: { device: device() },
    });
    if (res.status !== 200) return result.replaceChildren(issuesList(res.body, form));
    result.replaceChildren(
      readingsTable(
        t('testResult'),
        res.body.points.map((p) =>
          el(
            'tr',
            { 'data-point': p.point },
            el('th', { scope: 'row', text: p.point }),
            el('td', { class: 'num', text: inUnit(p.value, p.unit) }),
            el('td', { text: p.unit }),
            el('td', { class: `quality-${p.quality}`, text: t(`quality_${p.quality}`) }),
          ),
        ),
      ),
      // Only when there are errors: replaceChildren would print a null as the text "null".
      ...(res.body.errors.length > 0
        ? [
            el(
              'ul',
              { class: 'error' },
              res.body.errors.map((e) => el('li', { text: e })),
            ),
          ]
        : []),
    );
  });

  let source = null;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const d = device();
    const res = await api(`/api/sites/${encodeURIComponent(siteId)}/devices/${encodeURIComponent(d.id)}`, {
      method: 'PUT',
      body: { device: d, building: building.value },
    });
    if (res.status !== 200) return result.replaceChildren(issuesList(res.body, form));
    // Its live values, as the running gateway polls it.
    const cells = new Map();
    const rows = d.points.map((p) => {
      const key = `${siteId}/${d.id}/${p.id}`;
      const value = el('td', { class: 'num', 'data-point': key, text: t('noValue') });
      const unit = el('td', { text: '' });
      const quality = el('td', { text: '' });
      cells.set(key, { value, unit, quality });
      return el('tr', {}, el('th', { scope: 'row', text: p.id }), value, unit, quality);
    });
    result.replaceChildren(
      el('p', { class: 'ok', text: res.body.polling ? t('savedPolling') : t('savedNotPolling') }),
      readingsTable(t('liveOf', { device: d.id }), rows),
    );
    source?.close();
    source = new EventSource(`/api/sites/${encodeURIComponent(siteId)}/live`);
    const units = new Map(
      site.buildings.flatMap((b) => b.devices.flatMap((x) => x.points.map((p) => [p.key, p.unit]))),
    );
    const show = (readings) => {
      for (const r of readings) {
        const cell = cells.get(r.pointId);
        if (!cell) continue;
        const unit = units.get(r.pointId) ?? '';
        cell.value.textContent = inUnit(r.value, unit);
        cell.unit.textContent = unit;
        cell.quality.textContent = t(`quality_${r.quality}`);
        cell.quality.className = `quality-${r.quality}`;
      }
    };
    // The saved device is in the sites list now: its units, and the device list below.
    const [fresh, savedNow] = await Promise.all([
      api('/api/sites'),
      api(`/api/sites/${encodeURIComponent(siteId)}/devices`),
    ]);
    const current = fresh.status === 200 ? fresh.body.sites.find((x) => x.id === siteId) : null;
    for (const b of current?.buildings ?? [])
      for (const x of b.devices) for (const p of x.points) units.set(p.key, p.unit);
    if (current && savedNow.status === 200) fillList(current, savedNow.body.devices);
    source.addEventListener('snapshot', (e) => show(JSON.parse(e.data)));
    source.addEventListener('readings', (e) => show(JSON.parse(e.data)));
    source.addEventListener('error', () => {
      status.textContent = t('liveLost');
    });
  });
  cleanup.push(() => source?.close());

  const edit = (s) => {
    const d = s.device;
    devId.value = d.id;
    devName.value = d.name ?? '';
    building.value = s.building;
    protocol.value = d.protocol;
    showProtocol();
    if (d.protocol === 'modbus') {
      profile.value = d.profile;
      host.value = d.connection.host ?? '';
      port.value = String(d.connection.port ?? 502);
      unitId.value = String(d.connection.unitId ?? 1);
    } else endpoint.value = d.connection.endpointUrl;
    setPoints(
      d.points.map((p) => ({
        ...p,
        register: typeof p.register === 'string' ? p.register : (p.nodeId ?? ''),
      })),
    );
    devId.focus();
  };

  /** One row per device of the site; the saved ones can be changed. */
  const listBody = el('tbody', {});
  const fillList = (current, savedNow) =>
    listBody.replaceChildren(
      ...current.buildings.flatMap((b) =>
        b.devices.map((d) => {
          const s = savedNow.find((x) => x.device.id === d.id);
          const btn = s
            ? el('button', {
                type: 'button',
                class: 'secondary',
                text: t('editMapping'),
                'aria-label': t('editMappingOf', { device: d.id }),
              })
            : null;
          btn?.addEventListener('click', () => edit(s));
          return el(
            'tr',
            { 'data-device': d.id },
            el('th', { scope: 'row', text: d.name ? `${d.name} (${d.id})` : d.id }),
            el('td', { text: d.protocol }),
            el('td', { text: d.profile }),
            el('td', { class: 'num', text: String(d.points.length) }),
            el('td', {}, btn ?? el('span', { class: 'muted', text: t('fromConfig') })),
          );
        }),
      ),
    );
  fillList(site, saved);

  const deviceList = el(
    'section',
    { class: 'card', 'aria-labelledby': 'dev-list-h' },
    el('h2', { id: 'dev-list-h', text: t('devicesOf', { name: site.name }) }),
    table(
      t('devicesOf', { name: site.name }),
      ['device', 'devProtocol', 'devProfile', 'points', ''].map((k) => (k ? t(k) : '')),
      listBody,
      { numeric: (i) => i === 3 },
    ),
  );

  setPoints(defaultPoints(profile.value, profiles));
  page(
    t('devicesTitle', { name: site.name }),
    el('p', {}, el('a', { href: `#/site/${siteId}`, text: t('backToSite') })),
    form,
    deviceList,
  );
}
