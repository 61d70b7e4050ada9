import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, freePortPair } from '../sim/testing.js';
import { descendantPids, processRunning } from '../testkit/process.js';
import { until } from '../testkit/wait.js';
import { buildProgram, COMMANDS } from './program.js';
import { BIN, runCli, startCli } from './testing.js';

describe('gridflex demo', () => {
  it('polls the simulator into the store and the live stream, serves /health and /docs, and stops on Ctrl-C', async () => {
    const data = await mkdtemp(join(tmpdir(), 'gfx-demo-'));
    const simPort = await freePortPair();
    const demo = await startCli(
      ['demo', '--port', '0', '--data', data, '--sim-port-base', String(simPort)],
      /running at (http:\/\/\S+)/,
      {},
      150_000,
    );
    const base = demo.match[1]!;
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    // Terse for anyone not logged in as an administrator (server/README "Health").
    expect(await health.json()).toMatchObject({ status: 'ok', store: { kind: 'embedded', reachable: true } });
    expect(demo.output()).toContain(`store:    embedded PGlite in ${data}`);
    expect((await fetch(`${base}/docs/`)).status).toBe(200);
    expect((await fetch(`${base}/api/sites`)).status).toBe(401);
    const password = demo.output().match(/manager +user manager +password (\S+)/)![1]!;
    const login = await fetch(`${base}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: base },
      body: JSON.stringify({ username: 'manager', password }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const sites = (await (await fetch(`${base}/api/sites`, { headers: { cookie } })).json()) as {
      sites: { id: string }[];
    };
    expect(sites.sites.map((s) => s.id)).toEqual(['zev-bern']);
    expect(demo.output()).toMatch(/gateway: +polling \d+ simulated devices of zev-bern/);
    // The manager's overview draws its power flows from the sites file's bindings…
    const flows = await fetch(`${base}/api/sites/zev-bern/flows`, { headers: { cookie } });
    expect(await flows.json()).toEqual({
      grid: ['zev-bern/house-grid-meter/power'],
      pv: ['zev-bern/house-pv/power'],
      battery: ['zev-bern/house-battery/power'],
      soc: ['zev-bern/house-battery/soc'],
    });
    // …and its writes page reads the gateway's write log (empty or not, it answers).
    const writes = await fetch(`${base}/api/sites/zev-bern/writes`, { headers: { cookie } });
    expect(writes.status).toBe(200);
    expect(Array.isArray(((await writes.json()) as { writes: unknown[] }).writes)).toBe(true);

    // The live stream carries the simulator's grid meter as the gateway polls it…
    const key = 'zev-bern/house-grid-meter/power';
    const live = await fetch(`${base}/api/sites/zev-bern/live`, { headers: { cookie } });
    expect(live.headers.get('content-type')).toContain('text/event-stream');
    const reader = live.body!.getReader();
    let text = '';
    let seen: { value: number; quality: string } | undefined;
    while (!seen) {
      const chunk = await reader.read();
      if (chunk.done) throw new Error(`live stream ended before a good ${key} reading: ${text.slice(-500)}`);
      text += new TextDecoder().decode(chunk.value);
      for (const m of text.matchAll(/^event: readings\ndata: (.*)$/gm)) {
        const batch = JSON.parse(m[1]!) as { pointId: string; value: number; quality: string }[];
        seen ??= batch.find((r) => r.pointId === key && r.quality === 'good');
      }
    }
    await reader.cancel();
    expect(typeof seen.value).toBe('number');
    // …and the store has it (the writer batches, so ask until it is there).
    let stored: { ts: string; value: number | null }[] = [];
    while (stored.length === 0) {
      const res = await fetch(`${base}/api/points/${encodeURIComponent(key)}/readings?bucket=raw`, {
        headers: { cookie },
      });
      expect(res.status).toBe(200);
      stored = ((await res.json()) as { readings: { ts: string; value: number | null }[] }).readings.filter(
        (r) => r.value !== null,
      );
      if (stored.length === 0) await new Promise((r) => setTimeout(r, 500));
    }
    // A quiet start (issue #18): the gateways wait for the simulator, so no device was reported
    // down; node-opcua's notices (PKCS#1, default certificate) and the optimiser's wait for its
    // first measurements are not the user's concern.
    expect(demo.output()).not.toMatch(
      / is down|NODE-OPCUA-W27|security-revert|Creating default certificate|waiting for measurements/,
    );
    expect(demo.output()).toMatch(/simulator: ZEV Bern/);
    expect(await demo.stop()).toBe(0);
    expect(demo.output()).toContain('SIGINT received, stopping');
    // Starting the CLI from source takes 25-90 s on the shared 2-core machine under load.
  }, 200_000);

  it('runs the simulator as its own process, which ends when the demo is killed with -9', async () => {
    const data = await mkdtemp(join(tmpdir(), 'gfx-demo-'));
    const simPort = await freePortPair();
    const demo = await startCli(
      ['demo', '--port', '0', '--data', data, '--sim-port-base', String(simPort), '--optimize', 'none'],
      /simulator: ZEV Bern/,
      {},
      150_000,
    );
    const sims: number[] = [];
    for (const c of descendantPids(demo.child.pid!))
      if ((await readFile(`/proc/${c}/cmdline`, 'utf8').catch(() => '')).includes('\0sim\0')) sims.push(c);
    expect(sims).toHaveLength(1);
    const gone = new Promise<number | null>((res) => demo.child.once('close', res));
    demo.child.kill('SIGKILL');
    await gone;
    // Its IPC channel closed with the demo: it stops its servers and exits on its own.
    const simPid = sims[0]!;
    const deadline = Date.now() + 30_000;
    while (processRunning(simPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(processRunning(simPid)).toBe(false);
  }, 200_000);

  it('stops cleanly on Ctrl-C while still starting (the API up, the simulator not yet)', async () => {
    const data = await mkdtemp(join(tmpdir(), 'gfx-demo-'));
    const [simPort, port] = [await freePortPair(), await freePort()];
    const child = spawn(
      process.execPath,
      [BIN, 'demo', '--port', String(port), '--data', data, '--sim-port-base', String(simPort)],
      { env: { ...process.env, GRIDFLEX_FROM_SOURCE: '1' } },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const closed = new Promise<number | null>((res) => child.once('close', res));
    // The API answers before the simulator (its own process, forked now) is up and the banner printed.
    await until(
      () => `the demo's API: ${out}`,
      async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.status === 200,
      150_000,
    );
    const started = out.includes('Press Ctrl-C');
    child.kill('SIGINT');
    // Not killed by the signal: it stopped itself and exited 0, saying so.
    expect(await closed).toBe(0);
    expect(out).toMatch(
      started ? /SIGINT received, stopping/ : /SIGINT received while starting; stopping .* once started/,
    );
  }, 200_000);

  it('gridflex sim names a port in use in one line, not a stack', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const pki = await mkdtemp(join(tmpdir(), 'gfx-sim-pki-'));
      const res = await runCli(['sim', '--scenario', 'zev-bern', '--port-base', String(port), '--pki', pki]);
      expect(res.code).toBe(1);
      expect(res.stderr.trim()).toBe(
        `gridflex: 127.0.0.1:${port} is already in use (another simulator running?); choose another --port-base (gridflex demo: --sim-port-base)`,
      );
    } finally {
      blocker.close();
    }
  }, 120_000);

  it('rejects a bad port naming the flag, with exit code 2', async () => {
    const res = await runCli(['demo', '--port', '80a']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      'gridflex: invalid option for gridflex demo: --port: expected a port number from 0 to 65535',
    );
  });

  it('rejects a bad sites file naming the file and the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gfx-demo-'));
    const file = join(dir, 'sites.yaml');
    await writeFile(file, 'sites:\n  - id: Bad Id\n    name: x\n');
    const res = await runCli(['demo', '--sites', file, '--data', dir]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(new RegExp(`${file} is invalid: sites\\[0\\]\\.id: use lower-case letters`));
    expect(res.stderr).toMatch(/sites\[0\]\.location: /);
  });

  it('prints help for every command', async () => {
    const res = await runCli(['--help']);
    expect(res.code).toBe(0);
    const listed = [...res.stdout.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(listed.sort()).toEqual(Object.keys(COMMANDS).sort());
    const program = await buildProgram();
    for (const sub of program.commands) {
      expect(sub.helpInformation(), sub.name()).toMatch(new RegExp(`Usage: gridflex ${sub.name()}`));
      expect(sub.description(), sub.name()).not.toBe('');
    }
  });
});
