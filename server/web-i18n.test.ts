import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { type Texts, type WebFile, webFiles, wordsOf } from '../testkit/web-texts.js';

/**
 * The web UI's texts, read from the page scripts' source: both languages have every key, every
 * key a page looks up exists, and no page sets English words on the page without a lookup.
 * (web-pages.browser.test.ts checks the rendered German pages of the demo.)
 */
const files = webFiles();
const i18n = files.find((f) => f.name === 'i18n.js')!.catalogue!;

/** Which catalogue each lookup function of a file reads: `t` is i18n.js's, exported to every page. */
function lookups(f: WebFile): Map<string, { en: Texts; de: Texts }> {
  const m = new Map([['t', i18n]]);
  if (f.catalogue) m.set(f.catalogue.lookup, f.catalogue);
  return m;
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((x) => x[1]).sort();

/** Visit every node; a visitor returning `false` skips the node's children. */
function walk(node: ts.Node, visit: (n: ts.Node) => unknown) {
  if (visit(node) === false) return;
  node.forEachChild((c) => walk(c, visit));
}

/** Keys looked up with a literal (`t('key')`), a template (`t(\`state_${s}\`)`: its prefix), or mapped (`['a', 'b'].map((k) => t(k))`). */
function keyUses(f: WebFile): { fn: string; key: string; prefix: boolean; line: number }[] {
  const fns = lookups(f);
  const out: { fn: string; key: string; prefix: boolean; line: number }[] = [];
  const line = (n: ts.Node) => f.source.getLineAndCharacterOfPosition(n.getStart(f.source)).line + 1;
  walk(f.source, (n) => {
    if (!ts.isCallExpression(n) || !ts.isIdentifier(n.expression) || !fns.has(n.expression.text)) return;
    const fn = n.expression.text;
    const arg = n.arguments[0];
    if (!arg) return;
    if (ts.isStringLiteral(arg) || ts.isNoSubstitutionTemplateLiteral(arg))
      out.push({ fn, key: arg.text, prefix: false, line: line(n) });
    else if (ts.isTemplateExpression(arg)) out.push({ fn, key: arg.head.text, prefix: true, line: line(n) });
    else if (ts.isIdentifier(arg)) {
      // `[…].map((k) => t(k))`: the array's strings are keys.
      let p: ts.Node | undefined = n.parent;
      while (p && !(ts.isCallExpression(p) && ts.isPropertyAccessExpression(p.expression))) p = p.parent;
      const list =
        p && ts.isCallExpression(p) ? (p.expression as ts.PropertyAccessExpression).expression : null;
      if (list && ts.isArrayLiteralExpression(list))
        for (const e of list.elements)
          if (ts.isStringLiteral(e) && e.text !== '')
            out.push({ fn, key: e.text, prefix: false, line: line(e) });
    }
  });
  return out;
}

/**
 * Words set on the page without a lookup: string literals (and the fixed parts of templates)
 * given as an element's text, label or alternative, a chart series' label, a child of `el()`,
 * or assigned to `textContent`. Allowed: protocol and format names and units, which read the
 * same in both languages.
 */
const SAME_IN_EVERY_LANGUAGE = new Set([
  'Modbus',
  'TCP',
  'OPC',
  'UA',
  'CSV',
  'JSON',
  'PDF',
  'kW',
  'kWh',
  'Wh',
  'MW',
  'UTC',
]);
const VISIBLE_PROPS = new Set(['text', 'aria-label', 'alt', 'title', 'placeholder', 'label']);

function literalWords(f: WebFile): string[] {
  const found: string[] = [];
  const line = (n: ts.Node) => f.source.getLineAndCharacterOfPosition(n.getStart(f.source)).line + 1;
  const check = (n: ts.Node) => {
    const parts =
      ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)
        ? [n.text]
        : ts.isTemplateExpression(n)
          ? [n.head.text, ...n.templateSpans.map((s) => s.literal.text)]
          : [];
    for (const w of parts.flatMap(wordsOf))
      if (w.length > 1 && !SAME_IN_EVERY_LANGUAGE.has(w)) found.push(`${f.name}:${line(n)} "${w}"`);
  };
  walk(f.source, (n) => {
    // The catalogue itself is where English belongs.
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.name.text === 'TEXTS') return false;
    if (ts.isPropertyAssignment(n)) {
      const name = ts.isIdentifier(n.name) || ts.isStringLiteral(n.name) ? n.name.text : '';
      if (VISIBLE_PROPS.has(name)) check(n.initializer);
      // uPlot labels a series without a label "Time" (in English) in the chart's legend.
      if (name === 'series' && ts.isArrayLiteralExpression(n.initializer)) {
        const first = n.initializer.elements[0];
        if (first && ts.isObjectLiteralExpression(first) && first.properties.length === 0)
          found.push(`${f.name}:${line(first)} a chart's time series without a label (uPlot shows "Time")`);
      }
    }
    if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'el')
      for (const child of n.arguments.slice(2)) check(child);
    if (
      ts.isBinaryExpression(n) &&
      n.operatorToken.kind === ts.SyntaxKind.EqualsToken &&
      ts.isPropertyAccessExpression(n.left) &&
      n.left.name.text === 'textContent'
    )
      check(n.right);
  });
  return found;
}

describe('web UI texts (server/web/*.js)', () => {
  it('reads the catalogues of i18n.js and of the pages that keep their own', () => {
    expect(files.filter((f) => f.catalogue).map((f) => `${f.name} ${f.catalogue!.lookup}`)).toEqual([
      'bills.js tb',
      'i18n.js t',
      'market.js tm',
      'verify.js tv',
    ]);
  });

  it.each(files.filter((f) => f.catalogue).map((f) => [f.name, f.catalogue!] as const))(
    '%s: English and German have the same keys, none empty, with the same placeholders',
    (_name, c) => {
      expect(Object.keys(c.de).sort()).toEqual(Object.keys(c.en).sort());
      for (const [key, en] of Object.entries(c.en)) {
        const de = c.de[key]!;
        expect(en.trim(), key).not.toBe('');
        expect(de.trim(), key).not.toBe('');
        expect(placeholders(de), key).toEqual(placeholders(en));
      }
    },
  );

  it.each(files.map((f) => [f.name, f] as const))('%s looks up only keys that exist', (_name, f) => {
    const fns = lookups(f);
    const missing = keyUses(f)
      .filter((u) => {
        const c = fns.get(u.fn)!;
        return u.prefix
          ? !Object.keys(c.en).some((k) => k.startsWith(u.key)) ||
              !Object.keys(c.de).some((k) => k.startsWith(u.key))
          : !(u.key in c.en && u.key in c.de);
      })
      .map((u) => `${f.name}:${u.line} ${u.fn}('${u.key}${u.prefix ? '…' : ''}')`);
    expect(missing).toEqual([]);
  });

  it('finds the keys the pages look up (the scan sees them)', () => {
    const used = files.flatMap((f) => keyUses(f).map((u) => u.key));
    expect(used).toEqual(
      expect.arrayContaining(['loginTitle', 'planBind_', 'outcome_', 'billTitle', 'state_']),
    );
  });

  it.each(files.map((f) => [f.name, f] as const))(
    '%s sets no English words on the page without a lookup',
    (_name, f) => {
      expect(literalWords(f)).toEqual([]);
    },
  );
});
