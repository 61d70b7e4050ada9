import { billPage, billsPage, communityPage } from './bills.js';
import { readingsChart } from './chart.js';
import { devicesPage } from './devices.js';
import { api, el, table } from './dom.js';
import { formatTime, formatValue, lang, pointName, setLang, t } from './i18n.js';
import { portfolioPage } from './market.js';
import { planCard, planPage } from './plan.js';
import { flowsCard, savingsCard, siteLinks } from './site.js';
import { verifyPage } from './verify.js';
import { writesPage } from './writes.js';

const main = document.getElementById('main');
const status = document.getElementById('status');
let me = null;
/** What the current page must undo when the user leaves it (open streams, charts). */
const cleanup = [];

const HOME = {
  admin: '#/sites',
  manager: '#/sites',
  operator: '#/portfolio',
  resident: '#/bills',
  board: '#/community',
};

const PAGES = [
  { path: /^#\/sites$/, nav: 'navSites', roles: ['admin', 'manager', 'operator'], render: sitesPage },
  { path: /^#\/site\/([a-z0-9_-]+)$/, roles: ['admin', 'manager', 'operator'], render: sitePage },
  {
    path: /^#\/site\/([a-z0-9_-]+)\/plan$/,
    roles: ['admin', 'manager', 'operator'],
    render: (id) => withSite(id, (site, v) => planPage({ ...v, timeZone: site.timezone }, id, v.refused)),
  },
  {
    path: /^#\/site\/([a-z0-9_-]+)\/devices$/,
    roles: ['admin', 'manager'],
    render: (id) => withSite(id, (site, v) => devicesPage({ ...v, siteId: id, site, status })),
  },
  {
    path: /^#\/site\/([a-z0-9_-]+)\/writes$/,
    roles: ['admin', 'manager'],
    render: (id) => withSite(id, (site, v) => writesPage({ ...v, siteId: id, site })),
  },
  {
    path: /^#\/portfolio$/,
    nav: 'navPortfolio',
    roles: ['admin', 'operator'],
    render: () => portfolioPage(view()),
  },
  { path: /^#\/bills$/, nav: 'navBills', roles: ['resident'], render: () => billsPage(view()) },
  {
    path: /^#\/bill\/([a-z0-9_-]+)\/([A-Za-z0-9_.-]+)$/,
    roles: ['resident', 'board', 'admin'],
    render: (unit, id) => billPage(view(), unit, id),
  },
  {
    path: /^#\/verify\/([a-z0-9_-]+)\/([A-Za-z0-9_.-]+)$/,
    roles: ['resident', 'board', 'admin'],
    render: (unit, id) => verifyPage(view(), unit, id),
  },
  {
    path: /^#\/community$/,
    nav: 'navCommunity',
    roles: ['admin', 'board'],
    render: () => communityPage(view()),
  },
];

function page(title, ...children) {
  document.title = `${title} · Gridflex`;
  main.replaceChildren(el('h1', { text: title }), ...children);
}

function applyStaticTexts() {
  document.documentElement.lang = lang();
  document.getElementById('lang').value = lang();
  for (const node of document.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  const who = document.getElementById('who');
  who.textContent = me
    ? t('loggedInAs', { name: me.displayName ?? me.username, role: t(`role_${me.role}`) })
    : '';
  document.getElementById('logout').hidden = !me;
  const nav = document.getElementById('nav');
  nav.replaceChildren(
    ...(me
      ? PAGES.filter((p) => p.nav && p.roles.includes(me.role)).map((p) => {
          const href = p.path.source.replace(/^\^|\$$/g, '').replace(/\\\//g, '/');
          return el('a', { href, text: t(p.nav), 'aria-current': location.hash === href ? 'page' : null });
        })
      : []),
  );
}

async function render({ focus = true } = {}) {
  generation += 1;
  for (const undo of cleanup.splice(0)) undo();
  applyStaticTexts();
  if (!me) return loginPage();
  const hash = location.hash || HOME[me.role];
  if (!location.hash) history.replaceState(null, '', hash);
  const target = PAGES.find((p) => p.path.test(hash));
  if (!target) {
    page(t('notFound'), homeLink());
  } else if (!target.roles.includes(me.role)) {
    refused();
  } else {
    await target.render(...hash.match(target.path).slice(1));
  }
  applyStaticTexts();
  if (focus) main.focus();
}

function homeLink() {
  return el('p', {}, el('a', { href: HOME[me.role], text: t('refusedHint') }));
}

function refused() {
  page(t('refused'), homeLink());
  main.dataset.refused = 'true';
}

function loginPage() {
  const error = el('p', { class: 'error', role: 'alert', id: 'login-error' });
  const form = el(
    'form',
    { class: 'login', 'aria-describedby': 'login-error' },
    el('label', { for: 'username', text: t('username') }),
    el('input', {
      id: 'username',
      name: 'username',
      autocomplete: 'username',
      required: true,
      autocapitalize: 'none',
    }),
    el('label', { for: 'password', text: t('password') }),
    el('input', {
      id: 'password',
      name: 'password',
      type: 'password',
      autocomplete: 'current-password',
      required: true,
    }),
    el('button', { type: 'submit', text: t('login') }),
    error,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const res = await api('/api/auth/login', {
      method: 'POST',
      body: { username: data.get('username'), password: data.get('password') },
    });
    if (res.status === 200) {
      me = res.body.user;
      location.hash = HOME[me.role];
      if (location.hash === HOME[me.role]) await render();
      return;
    }
    error.textContent =
      res.status === 401
        ? t('loginFailed')
        : res.status === 429
          ? t('loginLimited', { minutes: Math.ceil(Number(res.headers.get('retry-after') ?? 60) / 60) })
          : t('loginError');
    form.password.value = '';
    form.password.focus();
  });
  page(t('loginTitle'), form);
}

async function loadSites() {
  const res = await api('/api/sites');
  return res.status === 200 ? res.body.sites : [];
}

async function sitesPage() {
  const v = view();
  const sites = await loadSites();
  // A manager of one building wants its overview, not a list of one (the address stays #/sites).
  if (me.role === 'manager' && sites.length === 1) return sitePage(sites[0].id, v);
  v.page(
    t('sitesTitle'),
    sites.length === 0
      ? el('p', { text: t('noSites') })
      : el(
          'ul',
          { class: 'cards' },
          sites.map((s) =>
            el(
              'li',
              { class: 'card' },
              el('a', { href: `#/site/${s.id}`, text: s.name, 'aria-label': t('open', { name: s.name }) }),
              el('p', { class: 'muted', text: `${s.buildings.length} · ${s.timezone}` }),
            ),
          ),
        ),
  );
}

/** A site page for a site the caller may see; any other id is refused like a foreign one. */
async function withSite(siteId, render) {
  const v = view();
  const site = (await loadSites()).find((s) => s.id === siteId);
  return site ? render(site, v) : v.refused();
}

async function sitePage(siteId, v = view()) {
  const site = (await loadSites()).find((s) => s.id === siteId);
  if (!site) return v.refused();
  const points = site.buildings.flatMap((b) =>
    b.devices.flatMap((d) => d.points.map((p) => ({ ...p, device: d.name ?? d.id }))),
  );
  const cells = new Map();
  const rows = points.map((p) => {
    const value = el('td', { class: 'num', 'data-point': p.key, text: t('noValue') });
    const updated = el('td', { class: 'muted', text: '' });
    cells.set(p.key, { value, updated, unit: p.unit });
    return el(
      'tr',
      {},
      el('th', { scope: 'row', text: pointName(p) }),
      el('td', { text: p.device }),
      value,
      updated,
    );
  });
  const chartBox = el('div', { class: 'card', id: 'chart' });
  const chartable = points.filter(
    (p) => p.kind === 'active_power' || p.kind === 'temperature' || p.kind === 'soc',
  );
  const select = el(
    'select',
    { id: 'chart-point' },
    chartable.map((p) => el('option', { value: p.key, text: `${p.device}: ${pointName(p)}` })),
  );
  const [flows, savings] = await Promise.all([flowsCard(site.id), savingsCard(site.id, site.timezone)]);
  v.page(
    t('siteTitle', { name: site.name }),
    siteLinks(site.id, me.role),
    flows.node,
    el(
      'section',
      { class: 'card', 'aria-labelledby': 'live-h' },
      el('h2', { id: 'live-h', text: t('livePower') }),
      table(
        t('livePower'),
        ['point', 'device', 'value', 'updated'].map((k) => t(k)),
        rows,
        { numeric: (i) => i === 2 },
      ),
    ),
    chartable.length > 0
      ? el('p', {}, el('label', { for: 'chart-point', text: `${t('choosePoint')} ` }), select)
      : null,
    chartable.length > 0 ? chartBox : null,
    el('div', { class: 'cards' }, planCard(site.id), savings),
  );

  const show = (readings) => {
    flows.show(readings);
    for (const r of readings) {
      const cell = cells.get(r.pointId);
      if (!cell) continue;
      cell.value.textContent = r.value === null ? '—' : formatValue(r.value, cell.unit);
      cell.updated.textContent = formatTime(r.ts, site.timezone);
    }
  };
  const source = new EventSource(`/api/sites/${encodeURIComponent(site.id)}/live`);
  source.addEventListener('snapshot', (e) => show(JSON.parse(e.data)));
  source.addEventListener('readings', (e) => show(JSON.parse(e.data)));
  source.addEventListener('open', () => {
    status.textContent = t('live');
  });
  source.addEventListener('error', () => {
    status.textContent = t('liveLost');
  });
  cleanup.push(() => source.close());

  let removeChart = () => {};
  const drawChart = async () => {
    removeChart();
    const point = chartable.find((p) => p.key === select.value);
    if (point) removeChart = await readingsChart(chartBox, point, api, { timeZone: site.timezone });
  };
  select.addEventListener('change', drawChart);
  cleanup.push(() => removeChart());
  await drawChart();
}

/** Bumped by every render (navigation, language change, login). */
let generation = 0;

/**
 * What a page needs from the shell, taken when its render starts. A page whose data arrives
 * after the reader has moved on draws nothing, so it cannot cover the newer page (or a refusal).
 */
function view() {
  const mine = generation;
  const current = () => mine === generation;
  return {
    me,
    page: (...args) => current() && page(...args),
    refused: () => current() && refused(),
    cleanup,
  };
}

document.getElementById('lang').addEventListener('change', (e) => {
  setLang(e.target.value);
  render({ focus: false });
});
document.getElementById('logout').addEventListener('click', async () => {
  await api('/api/auth/logout', { method: 'POST' });
  me = null;
  history.replaceState(null, '', location.pathname);
  await render();
});
window.addEventListener('hashchange', () => {
  delete main.dataset.refused;
  render();
});

const who = await api('/api/me');
me = who.status === 200 ? who.body : null;
await render({ focus: false });
document.body.dataset.ready = 'true';
