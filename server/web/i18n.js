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
    planCardText: 'What each battery and charger does now and over the day, and why.',
    planOpen: 'Open the plan',
    planPageTitle: 'Plan of {site}',
    planBack: 'Back to the site',
    planNowTitle: 'Now',
    planNone: 'No plan yet: the optimiser has not planned this site (is it running?).',
    planExpired: 'The last plan ({time}) has run out; the optimiser is not planning this site now.',
    planNoAssets: 'No controllable asset in this plan.',
    planIdle: '{asset}: idle',
    planCharge: '{asset}: charge {power}',
    planDischarge: '{asset}: discharge {power}',
    planPriceNow: 'Import price now (per kWh)',
    planMarginal: 'Marginal price now (per kWh)',
    planSavings: 'Saving of this plan against no control',
    planTariff: 'Tariff in force: {id}, version from {from}',
    planPricesStale: 'The spot prices could not be updated; the plan uses the last known prices ({reason})',
    planPricesNotice: 'Price source: {notice}',
    planPricesEstimated: '{n} slots are priced with the day before (prices not yet published)',
    planWhy: 'Why: the limits that shape this decision',
    planNoBinding: 'No limit is reached now: prices alone decide.',
    planHeld: '{asset}: held by market activation {id} ({product}, {power})',
    planHeldFrequency: '{asset}: held by the frequency response ({product}, {power} held)',
    planHeldWhy:
      'A market activation or the frequency response holds these assets: the plan does not move them until it is done.',
    planSolved: 'Planned {time} ({trigger}).',
    planKept: 'Kept an earlier plan: {message}',
    planChartTitle: 'Today: plan against actual',
    planChartEmpty: 'Nothing planned or measured today yet.',
    planChartSummary:
      '{slots} quarter-hours planned today, grid at most {plannedMax}; {actualSlots} measured, grid at most {actualMax}.',
    planGridPlanned: 'Grid, planned',
    planGridActual: 'Grid, measured',
    planBatteryPlanned: 'Battery, planned (+ charging)',
    planBatteryActual: 'Battery, measured (+ charging)',
    planBind_battery_soc_upper: '{asset} is full',
    planBind_battery_soc_lower: '{asset} is at its lowest allowed charge',
    planBind_battery_charge_upper: '{asset} charges at full power',
    planBind_battery_discharge_upper: '{asset} discharges at full power',
    planBind_thermal_temp_upper: '{asset} at the top of its comfort band',
    planBind_thermal_temp_lower: '{asset} at the bottom of its comfort band',
    planBind_thermal_power_upper: 'heat pump of {asset} at full power',
    planBind_ev_power_upper: '{asset} charges at full power',
    planBind_shiftable_power_upper: '{asset} runs at full power',
    planBind_sheddable_shed_upper: '{asset} is shed as far as allowed',
    planBind_grid_import_upper: 'the grid import limit is reached',
    planBind_grid_export_upper: 'the grid export limit is reached',
    planBind_pv_used_upper: 'all solar power is used',
    savingsNotYet: "There is no plan or baseline for today yet, so today's savings cannot be shown.",
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
    navDevices: 'Devices',
    navWrites: 'Setpoint writes',
    siteLinks: 'This site',
    flowsTitle: 'Power flows now',
    flowGrid: 'Grid',
    flowPv: 'Solar (PV)',
    flowBattery: 'Battery',
    flowLoads: 'Building loads',
    flowNone: 'not measured at this site',
    flowImport: 'drawing from the grid',
    flowExport: 'feeding into the grid',
    flowProducing: 'producing',
    flowCharging: 'charging',
    flowDischarging: 'discharging',
    flowIdle: 'idle',
    flowSoc: 'charged {soc}',
    flowLoadsHint: 'grid + solar + battery',
    savedSoFar: 'Saved so far today (measured)',
    plannedToday: 'Planned for today',
    savingsMethod:
      'Measured from the grid and battery meters since midnight ({since}) in {measured} of {ended} ended quarter-hours; both figures against the batteries left idle (the optimiser’s baseline without control), at the tariff’s prices.',
    devicesTitle: 'Devices of {name}',
    devicesOf: 'Devices at this site',
    backToSite: 'Back to the site overview',
    addDevice: 'Add or change a device',
    devId: 'Device id (lower-case letters, digits, - and _)',
    devName: 'Name (optional)',
    devBuilding: 'Building',
    devProtocol: 'Protocol',
    devProfile: 'Profile',
    devHost: 'Address (host name or IP)',
    devPort: 'Port',
    devUnit: 'Modbus unit id',
    devEndpoint: 'OPC UA endpoint',
    pointMapping: 'Point mapping: what to read from the device',
    pointIdH: 'Point id',
    pointKindH: 'Kind',
    pointRegisterH: 'Register or node id',
    pointId: 'Point {n}: id',
    pointKind: 'Point {n}: kind',
    pointRegister: 'Point {n}: register or node id',
    pointUnit: 'Point {n}: unit',
    unit: 'Unit',
    quality: 'Quality',
    points: 'Points',
    quality_good: 'good',
    quality_uncertain: 'uncertain',
    quality_bad: 'bad',
    addPoint: 'Add a point',
    remove: 'Remove',
    testConnection: 'Test the connection',
    testing: 'Reading the device once…',
    testResult: 'One read of the device',
    saveDevice: 'Save and start polling',
    savedPolling: 'Saved. The gateway is polling the device; its values appear below.',
    savedNotPolling: 'Saved. It will be polled after the next start.',
    liveOf: 'Live values of {device}',
    editMapping: 'Change',
    editMappingOf: 'Change device {device}',
    fromConfig: 'from the sites file',
    writesTitle: 'Setpoint writes at {name}',
    writesIntro:
      'Every value the controller wrote to a device, and every write the safety layer refused, newest first.',
    writesCaption: 'Setpoint writes and refusals',
    writesFailed: 'The setpoint writes could not be loaded. Please try again.',
    noWrites: 'No setpoint has been written to this site yet.',
    writeWho: 'Who',
    writeWhy: 'Why',
    writeOld: 'Old value',
    writeNew: 'New value',
    writeOutcome: 'Outcome',
    writeSent: 'sent {value}',
    writeReadBack: 'read back {value}',
    outcome_written: 'written',
    outcome_unverified: 'written, not confirmed',
    outcome_refused: 'refused by the safety layer',
    outcome_rejected: 'rejected by the device',
    outcome_failed: 'failed',
    navMain: 'Main',
    planTrigger_slot: 'new quarter-hour',
    planTrigger_state_changed: 'the building changed',
    planTrigger_market_obligations_changed: 'market obligations changed',
    who_optimizer: 'optimiser',
    who_market: 'market',
    who_gateway: 'gateway',
    who_central: 'central system',
    whyPlan: 'Plan for {from}–{to} ({how}): {what}',
    whyHow_solved: 'solved at {time}',
    whyHow_previous: 'earlier plan kept at {time}',
    whyHow_baseline: 'no solution, baseline at {time}',
    whyCharging: '{asset} charging {power}',
    whyDischarging: '{asset} discharging {power}',
    whyIdle: '{asset} idle',
    whyLimited: '{asset} limited to {power}',
    whyLimitedShort: '{asset} limited to {power} ({short} more curtailment planned than it can take)',
    whyUnlimited: '{asset} unlimited',
    whyPower: '{asset} {power}',
    whyLease: 'Lease refresh (the device reverts to its own control after {seconds} s without a write).',
    whyActivation: '{product} activation {id}',
    whyDropped: '{asset} dropped out of {what}',
    whyDroop: 'local frequency response {power}',
    whyCentral: 'central command {id}',
    whyHeartbeat: 'heartbeat for the device watchdog',
    // Common point ids shown by their meaning when the configuration gives the point no name.
    point_power: 'power',
    point_soc: 'state of charge',
    point_energy_import: 'energy imported',
    point_energy_export: 'energy exported',
    point_charge_rate: 'charge rate',
    point_discharge_rate: 'discharge rate',
    point_mode: 'control mode',
    point_revert_timeout: 'fail-safe timeout',
    point_limit_pct: 'power limit',
    point_limit_enable: 'power limit on',
    point_grid_power: 'grid power',
    point_grid_import: 'grid import',
    point_frequency: 'frequency',
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
    planCardText: 'Was jede Batterie und jede Ladestation jetzt und über den Tag tut, und warum.',
    planOpen: 'Fahrplan öffnen',
    planPageTitle: 'Fahrplan von {site}',
    planBack: 'Zurück zum Standort',
    planNowTitle: 'Jetzt',
    planNone: 'Noch kein Fahrplan: Der Optimierer hat diesen Standort nicht geplant (läuft er?).',
    planExpired:
      'Der letzte Fahrplan ({time}) ist abgelaufen; der Optimierer plant diesen Standort gerade nicht.',
    planNoAssets: 'Keine steuerbare Anlage in diesem Fahrplan.',
    planIdle: '{asset}: ruht',
    planCharge: '{asset}: laden mit {power}',
    planDischarge: '{asset}: entladen mit {power}',
    planPriceNow: 'Bezugspreis jetzt (pro kWh)',
    planMarginal: 'Grenzpreis jetzt (pro kWh)',
    planSavings: 'Einsparung dieses Fahrplans gegenüber ohne Steuerung',
    planTariff: 'Geltender Tarif: {id}, Fassung ab {from}',
    planPricesStale:
      'Die Spotpreise konnten nicht aktualisiert werden; der Fahrplan rechnet mit den letzten bekannten Preisen ({reason})',
    planPricesNotice: 'Preisquelle: {notice}',
    planPricesEstimated:
      '{n} Zeitfenster sind mit den Preisen des Vortags gerechnet (noch nicht veröffentlicht)',
    planWhy: 'Warum: die Grenzen, die diese Entscheidung bestimmen',
    planNoBinding: 'Keine Grenze ist erreicht: Es entscheiden allein die Preise.',
    planHeld: '{asset}: gehalten von Marktabruf {id} ({product}, {power})',
    planHeldFrequency: '{asset}: gehalten von der Frequenzregelung ({product}, {power} vorgehalten)',
    planHeldWhy:
      'Ein Marktabruf oder die Frequenzregelung hält diese Anlagen: Der Plan bewegt sie erst wieder, wenn sie enden.',
    planSolved: 'Geplant {time} ({trigger}).',
    planKept: 'Früherer Fahrplan beibehalten: {message}',
    planChartTitle: 'Heute: Plan gegen Ist',
    planChartEmpty: 'Heute ist noch nichts geplant oder gemessen.',
    planChartSummary:
      '{slots} Viertelstunden heute geplant, Netz höchstens {plannedMax}; {actualSlots} gemessen, Netz höchstens {actualMax}.',
    planGridPlanned: 'Netz, geplant',
    planGridActual: 'Netz, gemessen',
    planBatteryPlanned: 'Batterie, geplant (+ laden)',
    planBatteryActual: 'Batterie, gemessen (+ laden)',
    planBind_battery_soc_upper: '{asset} ist voll',
    planBind_battery_soc_lower: '{asset} ist auf dem tiefsten erlaubten Ladestand',
    planBind_battery_charge_upper: '{asset} lädt mit voller Leistung',
    planBind_battery_discharge_upper: '{asset} entlädt mit voller Leistung',
    planBind_thermal_temp_upper: '{asset} am oberen Rand des Komfortbereichs',
    planBind_thermal_temp_lower: '{asset} am unteren Rand des Komfortbereichs',
    planBind_thermal_power_upper: 'Wärmepumpe von {asset} auf voller Leistung',
    planBind_ev_power_upper: '{asset} lädt mit voller Leistung',
    planBind_shiftable_power_upper: '{asset} läuft mit voller Leistung',
    planBind_sheddable_shed_upper: '{asset} ist so weit wie erlaubt reduziert',
    planBind_grid_import_upper: 'die Bezugsgrenze des Netzanschlusses ist erreicht',
    planBind_grid_export_upper: 'die Einspeisegrenze des Netzanschlusses ist erreicht',
    planBind_pv_used_upper: 'der ganze Solarstrom wird genutzt',
    savingsNotYet:
      'Für heute gibt es noch keinen Fahrplan und keine Baseline; die Einsparungen lassen sich daher nicht zeigen.',
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
    navDevices: 'Geräte',
    navWrites: 'Sollwert-Schreibvorgänge',
    siteLinks: 'Dieser Standort',
    flowsTitle: 'Leistungsflüsse jetzt',
    flowGrid: 'Netz',
    flowPv: 'Solar (PV)',
    flowBattery: 'Batterie',
    flowLoads: 'Verbrauch im Gebäude',
    flowNone: 'an diesem Standort nicht gemessen',
    flowImport: 'Bezug aus dem Netz',
    flowExport: 'Einspeisung ins Netz',
    flowProducing: 'produziert',
    flowCharging: 'lädt',
    flowDischarging: 'entlädt',
    flowIdle: 'ruht',
    flowSoc: 'geladen {soc}',
    flowLoadsHint: 'Netz + Solar + Batterie',
    savedSoFar: 'Heute bisher gespart (gemessen)',
    plannedToday: 'Für heute geplant',
    savingsMethod:
      'Gemessen an Netz- und Batteriezählern seit Mitternacht ({since}) in {measured} von {ended} abgelaufenen Viertelstunden; beide Werte gegenüber ungenutzten Batterien (der Referenz des Optimierers ohne Steuerung), zu den Preisen des Tarifs.',
    devicesTitle: 'Geräte von {name}',
    devicesOf: 'Geräte an diesem Standort',
    backToSite: 'Zurück zur Standortübersicht',
    addDevice: 'Gerät hinzufügen oder ändern',
    devId: 'Geräte-ID (Kleinbuchstaben, Ziffern, - und _)',
    devName: 'Name (freiwillig)',
    devBuilding: 'Gebäude',
    devProtocol: 'Protokoll',
    devProfile: 'Profil',
    devHost: 'Adresse (Hostname oder IP)',
    devPort: 'Port',
    devUnit: 'Modbus-Unit-ID',
    devEndpoint: 'OPC-UA-Endpunkt',
    pointMapping: 'Datenpunkte: was vom Gerät gelesen wird',
    pointIdH: 'Punkt-ID',
    pointKindH: 'Art',
    pointRegisterH: 'Register oder Node-ID',
    pointId: 'Punkt {n}: ID',
    pointKind: 'Punkt {n}: Art',
    pointRegister: 'Punkt {n}: Register oder Node-ID',
    pointUnit: 'Punkt {n}: Einheit',
    unit: 'Einheit',
    quality: 'Qualität',
    points: 'Punkte',
    quality_good: 'gut',
    quality_uncertain: 'unsicher',
    quality_bad: 'schlecht',
    addPoint: 'Punkt hinzufügen',
    remove: 'Entfernen',
    testConnection: 'Verbindung testen',
    testing: 'Gerät wird einmal gelesen…',
    testResult: 'Einmaliges Lesen des Geräts',
    saveDevice: 'Speichern und abfragen',
    savedPolling: 'Gespeichert. Das Gateway fragt das Gerät ab; seine Werte erscheinen unten.',
    savedNotPolling: 'Gespeichert. Es wird nach dem nächsten Start abgefragt.',
    liveOf: 'Aktuelle Werte von {device}',
    editMapping: 'Ändern',
    editMappingOf: 'Gerät {device} ändern',
    fromConfig: 'aus der Standortdatei',
    writesTitle: 'Sollwert-Schreibvorgänge in {name}',
    writesIntro:
      'Jeder Wert, den die Steuerung in ein Gerät geschrieben hat, und jeder von der Sicherheitsschicht abgelehnte Schreibvorgang, neueste zuerst.',
    writesCaption: 'Sollwert-Schreibvorgänge und Ablehnungen',
    writesFailed: 'Die Schreibvorgänge konnten nicht geladen werden. Bitte versuchen Sie es erneut.',
    noWrites: 'An diesem Standort wurde noch kein Sollwert geschrieben.',
    writeWho: 'Wer',
    writeWhy: 'Warum',
    writeOld: 'Alter Wert',
    writeNew: 'Neuer Wert',
    writeOutcome: 'Ergebnis',
    writeSent: 'gesendet {value}',
    writeReadBack: 'zurückgelesen {value}',
    outcome_written: 'geschrieben',
    outcome_unverified: 'geschrieben, nicht bestätigt',
    outcome_refused: 'von der Sicherheitsschicht abgelehnt',
    outcome_rejected: 'vom Gerät abgelehnt',
    outcome_failed: 'fehlgeschlagen',
    navMain: 'Hauptnavigation',
    planTrigger_slot: 'neue Viertelstunde',
    planTrigger_state_changed: 'Zustand im Gebäude geändert',
    planTrigger_market_obligations_changed: 'Marktverpflichtungen geändert',
    who_optimizer: 'Optimierer',
    who_market: 'Markt',
    who_gateway: 'Gateway',
    who_central: 'Zentrale',
    whyPlan: 'Fahrplan für {from}–{to} ({how}): {what}',
    whyHow_solved: 'berechnet um {time}',
    whyHow_previous: 'früherer Fahrplan beibehalten um {time}',
    whyHow_baseline: 'keine Lösung, Grundfahrplan um {time}',
    whyCharging: '{asset} lädt mit {power}',
    whyDischarging: '{asset} entlädt mit {power}',
    whyIdle: '{asset} ruht',
    whyLimited: '{asset} begrenzt auf {power}',
    whyLimitedShort: '{asset} begrenzt auf {power} ({short} mehr Abregelung geplant, als es übernehmen kann)',
    whyUnlimited: '{asset} unbegrenzt',
    whyPower: '{asset} {power}',
    whyLease:
      'Auffrischung (ohne Schreibvorgang übernimmt das Gerät nach {seconds} s wieder selbst die Steuerung).',
    whyActivation: 'Abruf {id} ({product})',
    whyDropped: '{asset} nicht mehr Teil von {what}',
    whyDroop: 'lokale Frequenzstützung {power}',
    whyCentral: 'Befehl der Zentrale {id}',
    whyHeartbeat: 'Lebenszeichen für die Geräteüberwachung',
    point_power: 'Leistung',
    point_soc: 'Ladezustand',
    point_energy_import: 'Energie bezogen',
    point_energy_export: 'Energie eingespeist',
    point_charge_rate: 'Laderate',
    point_discharge_rate: 'Entladerate',
    point_mode: 'Steuermodus',
    point_revert_timeout: 'Rückfallzeit',
    point_limit_pct: 'Leistungsbegrenzung',
    point_limit_enable: 'Begrenzung aktiv',
    point_grid_power: 'Netzleistung',
    point_grid_import: 'Netzbezug',
    point_frequency: 'Frequenz',
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
  labelStatic();
}

/** Accessible names written in index.html (`data-i18n-label="key"`), in the current language. */
function labelStatic() {
  for (const node of document.querySelectorAll('[data-i18n-label]'))
    node.setAttribute('aria-label', t(node.dataset.i18nLabel));
}
labelStatic();

/** The text for `key` in the current language, with `{name}` placeholders filled in. */
export function t(key, params = {}) {
  return fill(TEXTS[current][key] ?? TEXTS.en[key] ?? key, params);
}

/**
 * A point as people read it: its configured name, else the meaning of a common point id in the
 * page's language (`soc` → "Ladezustand"), else its id (a technical id the manager chose).
 */
export function pointName(p) {
  if (p.name) return p.name;
  const key = `point_${p.id}`;
  const label = t(key);
  return label === key ? p.id : label;
}

/** A page's own texts (`{ en: {…}, de: {…} }`) as a `t` of its own, in the current language. */
export function textsOf(texts) {
  return (key, params = {}) => fill(texts[current]?.[key] ?? texts.en[key] ?? key, params);
}

function fill(text, params) {
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

/** A date and time; in `timeZone` (a site's) when given, else the browser's. */
export function formatTime(ms, timeZone) {
  return new Intl.DateTimeFormat(current, {
    dateStyle: 'short',
    timeStyle: 'medium',
    ...(timeZone ? { timeZone } : {}),
  }).format(new Date(ms));
}

/** Why the optimiser planned anew (`trigger` of a stored plan, optimizer/live.ts), in words. */
export function planTrigger(trigger) {
  const key = `planTrigger_${String(trigger ?? 'slot').replace(/\W+/g, '_')}`;
  return key in TEXTS.en ? t(key) : String(trigger ?? '');
}

/** Who asked for a setpoint write (`who` of the write log), in words; unknown callers as they are. */
export function writeWho(who) {
  return `who_${who}` in TEXTS.en ? t(`who_${who}`) : who;
}

const HHMM = '(\\d\\d:\\d\\d)';
const kw = (s) => formatValue(Number(s) * 1000, 'W');

/**
 * One asset's setpoint as the optimiser writes it: "battery charging 10.0 kW", "battery idle",
 * "pv limited to 2.3 kW" (optionally " (3.0 kW short)"), "pv unlimited".
 */
function whySetpoint(part) {
  const m = /^(\S+) (charging|discharging) (-?[\d.]+) kW$/.exec(part);
  if (m) return t(m[2] === 'charging' ? 'whyCharging' : 'whyDischarging', { asset: m[1], power: kw(m[3]) });
  const idle = /^(\S+) idle$/.exec(part);
  if (idle) return t('whyIdle', { asset: idle[1] });
  const limited = /^(\S+) limited to ([\d.]+) kW(?: \(([\d.]+) kW short\))?$/.exec(part);
  if (limited)
    return limited[3]
      ? t('whyLimitedShort', { asset: limited[1], power: kw(limited[2]), short: kw(limited[3]) })
      : t('whyLimited', { asset: limited[1], power: kw(limited[2]) });
  const unlimited = /^(\S+) unlimited$/.exec(part);
  if (unlimited) return t('whyUnlimited', { asset: unlimited[1] });
  const power = /^(\S+) (-?[\d.]+) kW$/.exec(part);
  return power ? t('whyPower', { asset: power[1], power: kw(power[2]) }) : part;
}

/**
 * The reason of a setpoint write (`why` of the write log) in the current language. The writers
 * (optimizer/live.ts whyText, optimizer/setpoint-sink.ts, market/runtime/executor.ts and
 * droop-runtime.ts, app/edge.ts, gateway/gateway.ts) record English sentences of fixed shapes;
 * each shape has its keys here (`why…`). A reason of another shape is shown as recorded.
 */
export function writeWhy(why) {
  const text = String(why ?? '');
  const lease =
    /^Lease refresh \(the device reverts to its own control after (\d+) s without a write\)\. (.*)$/.exec(
      text,
    );
  if (lease) return `${t('whyLease', { seconds: lease[1] })} ${writeWhy(lease[2])}`;
  const plan = new RegExp(
    `^Plan for ${HHMM}–${HHMM} \\((solved at|previous plan kept at|no solve, baseline at) ${HHMM}\\): (.*)$`,
  ).exec(text);
  if (plan) {
    const how = {
      'solved at': 'solved',
      'previous plan kept at': 'previous',
      'no solve, baseline at': 'baseline',
    };
    return t('whyPlan', {
      from: plan[1],
      to: plan[2],
      how: t(`whyHow_${how[plan[3]]}`, { time: plan[4] }),
      what: plan[5].split(', ').map(whySetpoint).join(', '),
    });
  }
  const dropped = /^(\S+) dropped out of (.*)$/.exec(text);
  if (dropped) return t('whyDropped', { asset: dropped[1], what: writeWhy(dropped[2]) });
  const activation = /^(\S+) activation (\S+)$/.exec(text);
  if (activation) return t('whyActivation', { product: activation[1], id: activation[2] });
  const droop = /^local frequency response (-?[\d.]+) kW$/.exec(text);
  if (droop) return t('whyDroop', { power: kw(droop[1]) });
  const central = /^central command (\S+)$/.exec(text);
  if (central) return t('whyCentral', { id: central[1] });
  if (text === 'heartbeat for the device watchdog') return t('whyHeartbeat');
  return text;
}
