import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listPoints, type Reading } from '../model/index.js';
import { announceSkip, testBackends } from '../store/testing.js';
import { DiskQueue, Hub, StoreWriter } from '../stream/index.js';
import { GatewayConfigSchema, gatewaySite } from './config.js';
import { Gateway } from './gateway.js';
import { sdm630Image, startModbusTcp } from './testing.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of testBackends) {
  announceSkip(backend, 'gateway store outage');
  describe.skipIf(backend.skipReason !== null)(
    `gateway readings across a store outage on ${backend.name}`,
    () => {
      it('stores every published reading exactly once after the store comes back', async () => {
        const dev = await startModbusTcp(sdm630Image());
        const store = await backend.open();
        const spool = await mkdtemp(join(tmpdir(), 'gfx-gw-spool-'));
        try {
          const cfg = GatewayConfigSchema.parse({
            site: 'bern',
            devices: [
              {
                id: 'meter',
                protocol: 'modbus',
                profile: 'sdm630',
                pollInterval: '50ms',
                connection: { transport: 'tcp', host: '127.0.0.1', port: dev.port },
                points: [
                  { id: 'power', kind: 'active_power' },
                  { id: 'voltage_l1', kind: 'voltage' },
                  { id: 'energy_import', kind: 'energy_import' },
                ],
              },
            ],
          });
          await store.readings.describePoints(listPoints([gatewaySite(cfg)]));
          const hub = new Hub();
          const published: Reading[] = [];
          hub.readings$.subscribe((r) => published.push(r));
          let down = false;
          let refused = 0;
          const sink = {
            ingest: (batch: readonly Reading[]) => {
              if (!down) return store.readings.ingest(batch);
              refused += 1;
              return Promise.reject(new Error('connection to the store lost'));
            },
          };
          const disk = await DiskQueue.open(spool);
          const writer = new StoreWriter(sink, {
            disk,
            maxDelayMs: 25,
            minRetryMs: 25,
            maxRetryMs: 100,
          }).start(hub.readings$);
          const gw = new Gateway(cfg, hub);
          gw.start();
          await sleep(300);
          down = true;
          await sleep(500);
          down = false;
          await sleep(300);
          await gw.stop();
          hub.close();
          const status = await writer.stop();

          expect(refused).toBeGreaterThan(0);
          expect(status.spilled).toBeGreaterThan(0);
          expect(status.dropped).toBe(0);
          expect(published.length).toBeGreaterThan(30);
          let stored = 0;
          for (const key of ['power', 'voltage_l1', 'energy_import']) {
            const pointId = `bern/meter/${key}`;
            const mine = published.filter((r) => r.pointId === pointId);
            const n = await store.readings.count(pointId);
            expect(n).toBe(mine.length);
            stored += n;
          }
          expect(stored).toBe(published.length);
          expect(status.stored).toBe(published.length);
        } finally {
          await store.close();
          await dev.stop();
          await rm(spool, { recursive: true, force: true });
        }
      }, 120_000);
    },
  );
}
