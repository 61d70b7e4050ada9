import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SitesConfigSchema } from '../model/index.js';
import { loadConfigFile } from './load.js';

async function file(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gfx-config-'));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const yaml = `
sites:
  - id: bern
    name: ZEV Bern
    location: { lat: 46.95, lon: 7.45 }
    timezone: Europe/Zurich
    grid: { importLimitKw: 60, exportLimitKw: 30 }
`;

describe('configuration files', () => {
  it('loads YAML and JSON alike', async () => {
    const fromYaml = await loadConfigFile(SitesConfigSchema, await file('sites.yaml', yaml));
    const fromJson = await loadConfigFile(
      SitesConfigSchema,
      await file('sites.json', JSON.stringify(fromYaml)),
    );
    expect(fromJson).toEqual(fromYaml);
    expect(fromYaml.sites[0]!.grid.importLimitKw).toBe(60);
  });

  it('reports a YAML syntax error with its line', async () => {
    const path = await file('sites.yaml', 'sites:\n  - id: bern\n   name: [unclosed\n');
    await expect(loadConfigFile(SitesConfigSchema, path)).rejects.toThrow(/is not valid YAML at line \d+/);
  });

  it('reports duplicate YAML keys instead of silently keeping one', async () => {
    const path = await file('sites.yaml', `${yaml}    timezone: UTC\n`);
    await expect(loadConfigFile(SitesConfigSchema, path)).rejects.toThrow(/not valid YAML/);
  });

  it('names the file and the offending field', async () => {
    const path = await file('sites.yaml', yaml.replace('importLimitKw: 60', 'importLimitKw: -5'));
    await expect(loadConfigFile(SitesConfigSchema, path)).rejects.toThrow(
      `${path} is invalid: sites[0].grid.importLimitKw: Too small: expected number to be >0`,
    );
  });

  it('says plainly when the file is missing', async () => {
    await expect(loadConfigFile(SitesConfigSchema, '/nonexistent/sites.yaml')).rejects.toThrow(
      'cannot read configuration file /nonexistent/sites.yaml: no such file',
    );
  });
});
