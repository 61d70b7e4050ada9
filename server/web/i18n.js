// German and English texts. The language comes from the browser unless the user picked one
// (kept in localStorage); every text on the page is looked up here.
const TEXTS = {
  en: {
    skip: 'Skip to content',
    language: 'Language',
    logout: 'Log out',
    loginTitle: 'Log in to Gridflex',
    username: 'Username',
    password: 'Password',
    login: 'Log in',
    loginFailed: 'The username or the password is not right.',
    loginLimited: 'Too many failed attempts. Please wait {minutes} minute(s) and try again.',
    loginError: 'Logging in did not work. Please try again.',
    loggedInAs: 'Logged in as {name} ({role})',
    role_admin: 'administrator',
    role_manager: 'building manager',
    role_operator: 'grid operator',
    role_resident: 'resident',
    role_board: 'community board',
    navSites: 'Sites',
    navPortfolio: 'Portfolio',
    navBills: 'My bills',
    navCommunity: 'Community',
    sitesTitle: 'Your sites',
    noSites: 'No sites are assigned to you yet. Ask your administrator.',
    open: 'Open {name}',
    siteTitle: 'Site {name}',
    livePower: 'Live values',
    point: 'Measurement',
    device: 'Device',
    value: 'Value',
    updated: 'Updated',
    noValue: 'no value yet',
    live: 'Live updates are on.',
    liveLost: 'Live updates are interrupted; reconnecting…',
    chartTitle: '{point}: last 24 hours (15-minute averages)',
    chartSummary: '{point} over the last 24 hours: lowest {min}, highest {max}, latest {last}.',
    chartEmpty: 'No stored readings for {point} in the last 24 hours.',
    chartTable: 'Show the chart data as a table',
    time: 'Time',
    average: 'Average',
    choosePoint: 'Chart of',
    notYet: 'Not available yet',
    planTitle: 'Plan for today',
    savingsTitle: "Today's savings",
    flexTitle: 'Flexibility, bids and activations',
    billsListTitle: 'Bills and consumption',
    communityDashTitle: 'Community dashboard',
    planNotYet: 'The plan (schedule against actual, and why) is not available yet.',
    savingsNotYet: "Today's savings are not available yet.",
    portfolioTitle: 'Portfolio',
    portfolioNotYet:
      'Flexibility availability, bids, obligations and activations are not available yet. The sites you may see are listed below.',
    billsTitle: 'My bills',
    billsNotYet: 'Your bills and your consumption are not available yet. They will appear here.',
    communityTitle: 'Community {name}',
    communityNotYet:
      'Community totals (production, self-consumption, export, revenue) and all bills are not available yet.',
    refused: 'You do not have access to this page.',
    refusedHint: 'Go to your start page',
    notFound: 'This page does not exist.',
  },
  de: {
    skip: 'Zum Inhalt springen',
    language: 'Sprache',
    logout: 'Abmelden',
    loginTitle: 'Bei Gridflex anmelden',
    username: 'Benutzername',
    password: 'Passwort',
    login: 'Anmelden',
    loginFailed: 'Benutzername oder Passwort stimmt nicht.',
    loginLimited: 'Zu viele Fehlversuche. Bitte warten Sie {minutes} Minute(n) und versuchen Sie es erneut.',
    loginError: 'Die Anmeldung hat nicht geklappt. Bitte versuchen Sie es erneut.',
    loggedInAs: 'Angemeldet als {name} ({role})',
    role_admin: 'Administration',
    role_manager: 'Gebäudeverwaltung',
    role_operator: 'Netzbetreiber',
    role_resident: 'Bewohner/in',
    role_board: 'Vorstand der Gemeinschaft',
    navSites: 'Standorte',
    navPortfolio: 'Portfolio',
    navBills: 'Meine Rechnungen',
    navCommunity: 'Gemeinschaft',
    sitesTitle: 'Ihre Standorte',
    noSites: 'Ihnen sind noch keine Standorte zugewiesen. Fragen Sie Ihre Administration.',
    open: '{name} öffnen',
    siteTitle: 'Standort {name}',
    livePower: 'Aktuelle Werte',
    point: 'Messung',
    device: 'Gerät',
    value: 'Wert',
    updated: 'Aktualisiert',
    noValue: 'noch kein Wert',
    live: 'Live-Aktualisierung ist an.',
    liveLost: 'Live-Aktualisierung unterbrochen; neuer Verbindungsversuch…',
    chartTitle: '{point}: letzte 24 Stunden (15-Minuten-Mittel)',
    chartSummary: '{point} in den letzten 24 Stunden: tiefster Wert {min}, höchster {max}, zuletzt {last}.',
    chartEmpty: 'Keine gespeicherten Messwerte für {point} in den letzten 24 Stunden.',
    chartTable: 'Daten des Diagramms als Tabelle zeigen',
    time: 'Zeit',
    average: 'Mittelwert',
    choosePoint: 'Diagramm von',
    notYet: 'Noch nicht verfügbar',
    planTitle: 'Fahrplan für heute',
    savingsTitle: 'Heutige Einsparungen',
    flexTitle: 'Flexibilität, Gebote und Abrufe',
    billsListTitle: 'Rechnungen und Verbrauch',
    communityDashTitle: 'Übersicht der Gemeinschaft',
    planNotYet: 'Der Fahrplan (Plan gegen Ist, mit Begründung) ist noch nicht verfügbar.',
    savingsNotYet: 'Die heutigen Einsparungen sind noch nicht verfügbar.',
    portfolioTitle: 'Portfolio',
    portfolioNotYet:
      'Verfügbare Flexibilität, Gebote, Verpflichtungen und Abrufe sind noch nicht verfügbar. Unten stehen die Standorte, die Sie sehen dürfen.',
    billsTitle: 'Meine Rechnungen',
    billsNotYet: 'Ihre Rechnungen und Ihr Verbrauch sind noch nicht verfügbar. Sie erscheinen hier.',
    communityTitle: 'Gemeinschaft {name}',
    communityNotYet:
      'Die Zahlen der Gemeinschaft (Produktion, Eigenverbrauch, Einspeisung, Erlös) und alle Rechnungen sind noch nicht verfügbar.',
    refused: 'Sie haben keinen Zugriff auf diese Seite.',
    refusedHint: 'Zu Ihrer Startseite',
    notFound: 'Diese Seite gibt es nicht.',
  },
};

export const LANGUAGES = Object.keys(TEXTS);

function fromBrowser() {
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = String(tag).slice(0, 2).toLowerCase();
    if (LANGUAGES.includes(base)) return base;
  }
  return 'en';
}

let current = LANGUAGES.includes(localStorage.getItem('gfx-lang'))
  ? localStorage.getItem('gfx-lang')
  : fromBrowser();

export const lang = () => current;

export function setLang(next) {
  if (!LANGUAGES.includes(next)) return;
  current = next;
  localStorage.setItem('gfx-lang', next);
}

/** The text for `key` in the current language, with `{name}` placeholders filled in. */
export function t(key, params = {}) {
  const text = TEXTS[current][key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, k) => String(params[k] ?? ''));
}

/** A measured value with its unit, in the current language's number format. */
export function formatValue(value, unit) {
  if (value === null || value === undefined) return t('noValue');
  const nf = (digits) => new Intl.NumberFormat(current, { maximumFractionDigits: digits });
  if (unit === 'W' && Math.abs(value) >= 1000) return `${nf(2).format(value / 1000)} kW`;
  if (unit === 'Wh' && Math.abs(value) >= 1000) return `${nf(2).format(value / 1000)} kWh`;
  const units = { degC: '°C', pct: '%' };
  return `${nf(1).format(value)} ${units[unit] ?? unit ?? ''}`.trim();
}

export function formatTime(ms) {
  return new Intl.DateTimeFormat(current, { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(ms));
}
