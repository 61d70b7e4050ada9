import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GridflexError, SitesConfigSchema } from '../model/index.js';
import { parseConfigText, validateConfig } from './load.js';

/** What loading a configuration may do: give a value, or a GridflexError naming the problem. */
function loadText(text: string, fileName: string): unknown {
  return validateConfig(SitesConfigSchema, parseConfigText(text, fileName), fileName);
}

function outcome(text: string, fileName: string): 'ok' | 'refused' {
  try {
    loadText(text, fileName);
    return 'ok';
  } catch (err) {
    if (err instanceof GridflexError) {
      expect(err.message.length).toBeGreaterThan(0);
      return 'refused';
    }
    throw new Error(`not a GridflexError for ${JSON.stringify(text.slice(0, 200))}: ${String(err)}`);
  }
}

/** YAML's tricky bits: anchors, aliases, tags, merge keys, flow collections, odd scalars. */
const yamlToken = fc.constantFrom(
  'sites:',
  '- ',
  '  ',
  '\n',
  'id: bern',
  '&a ',
  '*a',
  '*missing',
  '<<: *a',
  '!!binary ',
  '!!int ',
  '!!map ',
  '!custom ',
  '{',
  '}',
  '[',
  ']',
  ': ',
  ',',
  '"',
  "'",
  '#',
  '|',
  '>',
  '---',
  '...',
  '~',
  '.nan',
  '-.inf',
  '0x1F',
  '1e999',
  '99999999999999999999',
  '\u0000',
  '\t',
  '? ',
  '%YAML 1.2',
  'buildings:',
  'devices:',
  'grid: {importLimitKw: 1e308, exportLimitKw: -0}',
  'location: {lat: 91, lon: .nan}',
  'timezone: Mars/Olympus',
  'connection: {transport: tcp, host: "", port: 70000}',
);

describe('configuration loading never fails with anything but a GridflexError', () => {
  it('on random YAML built from its tricky tokens', () => {
    fc.assert(
      fc.property(fc.array(yamlToken, { maxLength: 60 }), (tokens) => {
        outcome(tokens.join(''), 'sites.yaml');
      }),
      { numRuns: 400 },
    );
  });

  it('on random JSON values and text, as .json and as .yaml', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify({ sites: [v] })),
        ),
        (text) => {
          outcome(text, 'sites.json');
          outcome(text, 'sites.yaml');
        },
      ),
      { numRuns: 400 },
    );
  });

  it('on the shipped example with random characters replaced, cut or repeated', async () => {
    const example = await readFile(new URL('../deploy/examples/sites.yaml', import.meta.url), 'utf8');
    expect(outcome(example, 'sites.yaml')).toBe('ok');
    const edit = fc.record({
      at: fc.nat({ max: example.length }),
      cut: fc.nat({ max: 40 }),
      insert: fc.oneof(fc.string({ maxLength: 8 }), yamlToken),
    });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 5 }), (edits) => {
        let text = example;
        for (const e of edits) text = text.slice(0, e.at) + e.insert + text.slice(e.at + e.cut);
        outcome(text, 'sites.yaml');
      }),
      { numRuns: 300 },
    );
  });

  it('on alias bombs (exponential expansion) within bounded time', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 12; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      levels.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const started = Date.now();
    expect(outcome(levels.join('\n'), 'sites.yaml')).toBe('refused');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
