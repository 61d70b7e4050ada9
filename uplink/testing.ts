import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Brokers for the uplink's tests and bench: the shared Mosquitto on 127.0.0.1:1883 (started by
 * .ci/run), and brokers of our own on a free loopback port for tests that restart the broker
 * or need a special configuration (ACL), so the shared one is never disturbed.
 */
export const MOSQUITTO = '/usr/sbin/mosquitto';
export const SHARED_BROKER = 'mqtt://127.0.0.1:1883';

/** Why the broker tests cannot run here, or null. Under GRIDFLEX_CI=1 a missing broker fails. */
export async function brokerSkipReason(): Promise<string | null> {
  let reason: string | null = null;
  if (!existsSync(MOSQUITTO)) reason = 'mosquitto is not installed (Debian: apt-get install mosquitto)';
  else if (!(await reachable(1883))) reason = 'no Mosquitto answers on 127.0.0.1:1883 (.ci/run starts it)';
  if (reason && process.env.GRIDFLEX_CI === '1') throw new Error(`CI requires ${reason}`);
  if (reason) console.warn(`[skip] ${reason}`);
  return reason;
}

export function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

export interface OwnBroker {
  port: number;
  url: string;
  dir: string;
  /** Kill the broker (SIGKILL: a crash, nothing saved) and wait until it is gone. */
  stop(): Promise<void>;
  /** Start it again on the same port and configuration. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** A Mosquitto of our own on a free loopback port; `extra` lines go into its configuration. */
export async function startOwnBroker(extra: string[] = []): Promise<OwnBroker> {
  const dir = await mkdtemp(join(tmpdir(), 'gf-mosquitto-'));
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  const hasAuth = extra.some((l) => l.startsWith('password_file'));
  await writeFile(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      hasAuth ? 'allow_anonymous false' : 'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      ...extra,
      '',
    ].join('\n'),
  );
  let child: ChildProcess | null = null;
  let stderr = '';
  const start = async () => {
    child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d) => {
      stderr += String(d);
    });
    // Bounded: 200 tries, 50 ms apart (10 s), then fail with what the broker said.
    for (let i = 0; i < 200; i++) {
      if (await reachable(port)) return;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`mosquitto did not start on ${port}: ${stderr}`);
  };
  const stop = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    stop,
    start,
    close: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolve when `predicate` holds after one of `emitter`'s `event`s (or at once), else reject after `ms`. */
export function until(
  emitter: NodeJS.EventEmitter,
  event: string,
  predicate: () => boolean,
  ms = 60_000,
  what = event,
): Promise<void> {
  return new Promise((resolve, reject) => {
    if (predicate()) return resolve();
    const timer = setTimeout(() => {
      emitter.off(event, check);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    function check() {
      if (!predicate()) return;
      clearTimeout(timer);
      emitter.off(event, check);
      resolve();
    }
    emitter.on(event, check);
  });
}
