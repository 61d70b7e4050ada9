import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GridflexError } from '../model/index.js';
import { STORE_ERRORS } from './errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const heldHere = new Set<string>();

/**
 * The embedded database can be opened by one process at a time; a second one would corrupt
 * it. Take a PID lock file in the data folder, replacing a lock left by a process that died.
 */
export function lockDataDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'gridflex.lock');
  if (heldHere.has(file)) {
    throw new GridflexError(
      STORE_ERRORS.LOCKED,
      `the embedded database in ${dir} is already open in this process`,
    );
  }
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      heldHere.add(file);
      return () => {
        heldHere.delete(file);
        rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8'));
      // Our own pid in a lock we do not hold is a leftover from an earlier run (containers reuse pids).
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new GridflexError(
          STORE_ERRORS.LOCKED,
          `the embedded database in ${dir} is in use by another Gridflex process (pid ${pid}); stop it, or pass --data with another folder`,
        );
      }
      rmSync(file, { force: true });
    }
  }
  throw new GridflexError(STORE_ERRORS.LOCKED, `cannot lock the embedded database in ${dir}`);
}
