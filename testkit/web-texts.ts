import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The web UI's text catalogues, read from the page scripts' source (server/web/*.js are browser
 * modules: Node cannot import them). Each catalogue is a top-level `const TEXTS = { en, de }`
 * literal; its lookup function is the one that indexes `TEXTS[…]` (`t` in i18n.js, exported to
 * every page) or is made by `textsOf(TEXTS)` (`tb`, `tm`, `tv`: the bills, market and verify
 * pages' own texts).
 */
export const WEB_DIR = fileURLToPath(new URL('../server/web/', import.meta.url));

export type Texts = Record<string, string>;

export interface WebFile {
  name: string;
  source: ts.SourceFile;
  /** The file's own catalogue, if it has one. */
  catalogue: { en: Texts; de: Texts; lookup: string } | null;
}

export function webFiles(): WebFile[] {
  return readdirSync(WEB_DIR)
    .filter((n) => n.endsWith('.js'))
    .sort()
    .map((name) => {
      const text = readFileSync(`${WEB_DIR}${name}`, 'utf8');
      const source = ts.createSourceFile(name, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
      return { name, source, catalogue: catalogueOf(source) };
    });
}

function catalogueOf(source: ts.SourceFile): WebFile['catalogue'] {
  let literal: ts.ObjectLiteralExpression | undefined;
  let lookup: string | undefined;
  for (const s of source.statements) {
    if (ts.isVariableStatement(s))
      for (const d of s.declarationList.declarations) {
        if (!ts.isIdentifier(d.name) || !d.initializer) continue;
        if (d.name.text === 'TEXTS') literal = d.initializer as ts.ObjectLiteralExpression;
        // `const tb = textsOf(TEXTS)` (i18n.js): a page's own lookup.
        if (/^textsOf\(\s*TEXTS\s*\)$/.test(d.initializer.getText(source))) lookup = d.name.text;
      }
    const fn = ts.isFunctionDeclaration(s) ? s : null;
    if (fn?.name && fn.body && /\bTEXTS\[/.test(fn.body.getText(source))) lookup = fn.name.text;
  }
  if (!literal || !lookup) return null;
  // A plain object literal of strings: evaluating its own source text is exact and safe here.
  const texts = new Function(`return (${literal.getText(source)});`)() as { en: Texts; de: Texts };
  return { en: texts.en, de: texts.de, lookup };
}

/** Words of a text (letters only; placeholders `{name}` left out). */
export const wordsOf = (text: string): string[] =>
  text.replace(/\{\w+\}/g, ' ').match(/\p{L}[\p{L}’'-]*\p{L}|\p{L}/gu) ?? [];

/**
 * Words of the English texts that no German text uses (case-insensitive): seen on a German
 * page, such a word is an English string left untranslated.
 */
export function englishOnlyWords(files: WebFile[] = webFiles()): Set<string> {
  const german = new Set<string>();
  const english = new Set<string>();
  for (const f of files) {
    if (!f.catalogue) continue;
    for (const v of Object.values(f.catalogue.de)) for (const w of wordsOf(v)) german.add(w.toLowerCase());
    for (const v of Object.values(f.catalogue.en)) for (const w of wordsOf(v)) english.add(w.toLowerCase());
  }
  return new Set([...english].filter((w) => !german.has(w)));
}
