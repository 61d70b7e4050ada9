import { readFileSync } from 'node:fs';

/** Whether a process runs: it exists and is not a zombie (a dead child not yet reaped). Linux /proc. */
export function processRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

/** The processes a process started, and theirs, from /proc; none where there is no /proc. */
export function descendantPids(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {}
  return kids.flatMap((k) => [k, ...descendantPids(k)]);
}
