import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/gridflex.mjs', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The smallest gridflex.yaml `gridflex run` starts from: one site, nothing to poll. */
export const SMALLEST_RUN_CONFIG = `
sites:
  - id: lab
    name: Lab
    location: { lat: 46.95, lon: 7.45 }
    timezone: Europe/Zurich
    grid: { importLimitKw: 10, exportLimitKw: 5 }
`;

/** Run `gridflex …` to completion, as a user would from a shell. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, GRIDFLEX_FROM_SOURCE: '1', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gridflex ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Start a long-running `gridflex …` and wait for a line on stdout matching `ready`. */
export function startCli(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 60_000,
): Promise<{
  child: ChildProcess;
  match: RegExpMatchArray;
  output: () => string;
  stop: () => Promise<number | null>;
}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, GRIDFLEX_FROM_SOURCE: '1', ...env },
    });
    let out = '';
    const stop = () =>
      new Promise<number | null>((res) => {
        if (child.exitCode !== null) return res(child.exitCode);
        child.once('close', (code) => res(code));
        child.kill('SIGINT');
      });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gridflex ${args.join(' ')} was not ready in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      out += d;
      const match = out.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => out, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (d) => (out += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`gridflex ${args.join(' ')} exited with ${code} before it was ready:\n${out}`));
    });
  });
}
