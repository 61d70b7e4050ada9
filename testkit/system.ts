import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * System programs some tests need. On a bare laptop a missing one skips its tests with the
 * reason printed; under CI (GRIDFLEX_CI=1, set by .ci/run, which installs them) a missing
 * one fails the run, so CI never passes by skipping.
 */
export interface SystemDependency {
  name: string;
  /** Null when present; otherwise why the tests that need it cannot run. */
  skipReason: string | null;
}

function probe(name: string, install: string, present: () => boolean): SystemDependency {
  let ok = false;
  try {
    ok = present();
  } catch {
    ok = false;
  }
  if (ok) return { name, skipReason: null };
  const reason = `${name} is not installed (Debian: apt-get install ${install}; .ci/run installs it)`;
  if (process.env.GRIDFLEX_CI === '1') throw new Error(`CI requires ${reason}`);
  console.warn(`[skip] ${reason}`);
  return { name, skipReason: reason };
}

export const chromium = () => probe('chromium', 'chromium', () => existsSync('/usr/bin/chromium'));
export const glpsol = () => probe('glpsol', 'glpk-utils', () => existsSync('/usr/bin/glpsol'));
export const cbc = () => probe('cbc', 'coinor-cbc', () => existsSync('/usr/bin/cbc'));
/** Debian's pymodbus runs under /usr/bin/python3, not the python3 first on PATH. */
export const pymodbus = () =>
  probe('python3-pymodbus', 'python3-pymodbus', () => {
    execFileSync('/usr/bin/python3', ['-c', 'import pymodbus'], { stdio: 'ignore' });
    return true;
  });

/** The local PostgreSQL server for tests (TEST_DATABASE_URL), required under CI. */
export function postgresUrl(): { url: string | null; skipReason: string | null } {
  const url = process.env.TEST_DATABASE_URL ?? null;
  if (url) return { url, skipReason: null };
  const reason = 'TEST_DATABASE_URL is not set (.ci/run sets it to the local PostgreSQL server)';
  if (process.env.GRIDFLEX_CI === '1') throw new Error(`CI requires ${reason}`);
  return { url: null, skipReason: reason };
}
/** Debian's docker-compose (v1) validates compose files without a Docker engine. */
export const dockerCompose = () =>
  probe('docker-compose', 'docker-compose', () => existsSync('/usr/bin/docker-compose'));
/** systemd's own checks of unit and sysusers files; they need no running systemd. */
export const systemdTools = () =>
  probe(
    'systemd-analyze',
    'systemd',
    () => existsSync('/usr/bin/systemd-analyze') && existsSync('/usr/bin/systemd-sysusers'),
  );
/** poppler-utils' pdftotext: the text of a rendered PDF bill, as a reader's PDF viewer extracts it. */
export const pdftotext = () => probe('pdftotext', 'poppler-utils', () => existsSync('/usr/bin/pdftotext'));
