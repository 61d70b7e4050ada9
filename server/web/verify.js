import { api, el } from './dom.js';
import { lang, textsOf } from './i18n.js';

// Checking a bill without a command line: the server verifies the whole ledger, the bill's
// signed checkpoint against the community's keys and, if typed in, the checkpoint printed on a
// paper or PDF bill (/api/units/…/bills/…/verify); this page says the result in plain words.
const TEXTS = {
  en: {
    title: 'Check a bill',
    intro:
      'This checks that bill {id} is in the community’s tamper-evident ledger exactly as it was issued, and that its checkpoint was signed with the community’s key.',
    code: 'Checkpoint printed on your bill (optional)',
    codeHint: 'Two parts separated by a colon, e.g. 42:9f3c…; leave empty to check the bill as stored.',
    check: 'Check',
    checking: 'Checking…',
    ok: 'This bill is in the community’s ledger, unchanged, signed on {date}.',
    bad: 'This bill could not be confirmed.',
    problem: 'What is wrong: {problem}',
    entry: 'Ledger entry',
    checkpoint: 'Checkpoint',
    key: 'Community key (Ed25519)',
    keyId: 'Key id',
    back: 'Back to the bill',
    notFound: 'This bill does not exist or is not yours.',
  },
  de: {
    title: 'Rechnung prüfen',
    intro:
      'Hier wird geprüft, dass die Rechnung {id} unverändert im fälschungssicheren Journal der Gemeinschaft steht und ihr Prüfpunkt mit dem Schlüssel der Gemeinschaft signiert ist.',
    code: 'Prüfpunkt von Ihrer Rechnung (freiwillig)',
    codeHint:
      'Zwei Teile mit Doppelpunkt, z. B. 42:9f3c…; leer lassen, um die gespeicherte Rechnung zu prüfen.',
    check: 'Prüfen',
    checking: 'Wird geprüft…',
    ok: 'Diese Rechnung steht unverändert im Journal der Gemeinschaft, signiert am {date}.',
    bad: 'Diese Rechnung konnte nicht bestätigt werden.',
    problem: 'Was nicht stimmt: {problem}',
    entry: 'Eintrag im Journal',
    checkpoint: 'Prüfpunkt',
    key: 'Schlüssel der Gemeinschaft (Ed25519)',
    keyId: 'Schlüssel-ID',
    back: 'Zurück zur Rechnung',
    notFound: 'Diese Rechnung gibt es nicht, oder sie ist nicht Ihre.',
  },
};

const tv = textsOf(TEXTS);

const dateOf = (iso) =>
  `${new Intl.DateTimeFormat(lang(), { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }).format(
    new Date(iso),
  )} UTC`;

/** The result in words first (announced), the evidence below it. */
function resultView(r) {
  if (!r.ok)
    return [
      el('p', { class: 'verdict bad', text: tv('bad') }),
      el('p', { text: tv('problem', { problem: r.problem ?? '' }) }),
    ];
  return [
    el('p', { class: 'verdict ok', text: tv('ok', { date: dateOf(r.signedAt) }) }),
    el(
      'dl',
      { class: 'evidence' },
      el('dt', { text: tv('entry') }),
      el('dd', { text: `${r.entry} / ${r.entries}` }),
      el('dt', { text: tv('checkpoint') }),
      el('dd', {}, el('code', { class: 'hash', text: `${r.checkpoint.seq}:${r.checkpoint.hash}` })),
      el('dt', { text: tv('keyId') }),
      el('dd', {}, el('code', { text: r.keyId })),
      el('dt', { text: tv('key') }),
      el('dd', {}, el('code', { class: 'hash', text: r.publicKey })),
    ),
  ];
}

export async function verifyPage({ page }, unit, id) {
  const path = `/api/units/${encodeURIComponent(unit)}/bills/${encodeURIComponent(id)}`;
  const back = el(
    'p',
    {},
    el('a', { href: `#/bill/${encodeURIComponent(unit)}/${encodeURIComponent(id)}`, text: tv('back') }),
  );
  const result = el('section', { class: 'card', id: 'verify-result', role: 'status', 'aria-live': 'polite' });
  const input = el('input', {
    id: 'checkpoint-code',
    name: 'checkpoint',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'checkpoint-hint',
  });
  const run = async () => {
    result.replaceChildren(el('p', { text: tv('checking') }));
    const code = input.value.trim();
    const res = await api(`${path}/verify${code ? `?checkpoint=${encodeURIComponent(code)}` : ''}`);
    if (res.status === 404)
      return result.replaceChildren(el('p', { class: 'verdict bad', text: tv('notFound') }));
    if (res.status !== 200)
      return result.replaceChildren(
        el('p', { class: 'verdict bad', text: tv('bad') }),
        el('p', { text: tv('problem', { problem: res.body?.message ?? res.status }) }),
      );
    result.replaceChildren(...resultView(res.body));
  };
  const form = el(
    'form',
    {
      class: 'verify',
      onsubmit: (e) => {
        e.preventDefault();
        run();
      },
    },
    el('label', { for: 'checkpoint-code', text: tv('code') }),
    input,
    el('p', { class: 'muted', id: 'checkpoint-hint', text: tv('codeHint') }),
    el('button', { type: 'submit', text: tv('check') }),
  );
  page(tv('title'), el('p', { text: tv('intro', { id }) }), form, result, back);
  await run();
}
