import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RegisterImage,
  startHalfOpenRelay,
  startModbusTcp,
  type TestDevice,
  writableLimitConfig,
} from '../../gateway/testing.js';
import { runCli } from '../testing.js';

let dir: string;
let device: TestDevice;
let relay: { port: number; stop(): Promise<void> };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gfx-cli-write-'));
  device = await startModbusTcp(new RegisterImage().put('holding', 100, [50]));
  relay = await startHalfOpenRelay(device.port);
});
afterAll(async () => {
  await relay.stop();
  await device.stop();
  await rm(dir, { recursive: true, force: true });
});

// The CLI runs through tsx in a child process: slow on a busy 2-core machine.
describe('gridflex write', { timeout: 150_000 }, () => {
  it('exits when done, even when the device keeps its side of the connection open', async () => {
    const file = join(dir, 'write.json');
    await writeFile(file, JSON.stringify(writableLimitConfig(relay.port)));
    // Generous for tsx and the embedded database on a loaded machine; a hang never ends.
    const res = await runCli(
      ['write', '--config', file, '--point', 'ctl/limit', '--value', '70', '--data', join(dir, 'data')],
      { DATABASE_URL: '' },
      100_000,
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/"outcome":"written"/);
    expect(device.image.tables.holding.get(100)).toBe(70);
  });
});
