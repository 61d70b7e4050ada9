import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { Gateway, GatewayConfigSchema } from '../gateway/index.js';
import { gatewayConfigFor } from '../sim/gateway-config.js';
import { type RunningSimulator, startSimulator } from '../sim/runner.js';
import { loadScenario } from '../sim/scenario.js';
import { freePortPair } from '../sim/testing.js';
import { Hub } from '../stream/index.js';
import { droopFraction, requiredFraction } from './droop.js';
import { findProduct, loadProducts } from './product.js';
import { BatteryAssetSchema } from './runtime/assets.js';
import { DroopRuntime } from './runtime/droop-runtime.js';
import { checkFrequencyResponse } from './verify.js';

/**
 * FCR-D up end to end: the lappeenranta simulator over Modbus, the real gateway polling
 * school-1's grid meter (frequency and power) every 100 ms, the droop runtime discharging
 * school-1's battery through the safety layer, and a dip to 49.5 Hz forced in the simulator.
 * The simulator runs at 2× and the gateway's clock is the simulated one, so the response is
 * judged on the simulation's time.
 */
const SPEED = 2;
const CAPACITY_KW = 40;
const START = Date.parse('2026-11-18T08:00:00Z'); // a Wednesday, 10:00 in Helsinki

let sim: RunningSimulator;
let gateway: Gateway;
let hub: Hub;
let pki: string;
let clock: () => number;

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(100);
  }
}

beforeAll(async () => {
  pki = mkdtempSync(join(tmpdir(), 'gfx-fcr-'));
  const scenario = await loadScenario('lappeenranta');
  const portBase = await freePortPair();
  const realStart = Date.now();
  clock = () => START + (Date.now() - realStart) * SPEED;
  sim = await startSimulator(scenario, {
    seed: 7,
    speed: SPEED,
    host: '127.0.0.1',
    portBase,
    pkiDir: pki,
    startMs: START,
    now: () => Date.now(),
  });
  const generated = gatewayConfigFor(sim.sim, sim.endpoints) as {
    devices: { id: string; points: Record<string, unknown>[] }[];
  };
  const devices = generated.devices
    .filter((d) => d.id === 'school-1-grid-meter' || d.id === 'school-1-battery')
    .map((d) => ({
      ...d,
      points: d.points.map((p) =>
        d.id === 'school-1-grid-meter'
          ? { ...p, pollInterval: '100ms' }
          : // A battery in FCR is written several times a second; the site's file allows it.
            p.writable
            ? { ...p, minWriteInterval: '100ms' }
            : p,
      ),
    }));
  const cfg = validateConfig(GatewayConfigSchema, { ...generated, devices }, 'fcr gateway');
  hub = new Hub();
  gateway = new Gateway(cfg, hub, { clock });
  gateway.start();
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  hub?.close();
  await sim?.stop();
  rmSync(pki, { recursive: true, force: true });
});

describe('FCR-D up on the simulator', () => {
  it('discharges the battery when the frequency dips, meeting 50 % in 5 s and 100 % in 30 s (verify.ts)', async () => {
    const product = findProduct(await loadProducts(), 'fcr-d-up');
    const battery = sim.sim.building('school-1')!.device('battery')!;
    if (battery.type !== 'battery') throw new Error('school-1 has no battery');
    const asset = BatteryAssetSchema.parse({
      kind: 'battery',
      id: 'school-1-battery',
      siteId: 'lappeenranta',
      device: 'school-1-battery',
      modePoint: 'mode',
      chargePoint: 'charge_rate',
      dischargePoint: 'discharge_rate',
      ratedKw: battery.params.maxChargeW / 1000,
      maxChargeKw: battery.params.maxChargeW / 1000,
      maxDischargeKw: battery.params.maxDischargeW / 1000,
      storedKwh: battery.storedWh / 1000,
      maxKwh: battery.params.capacityWh / 1000,
    });
    const runtime = new DroopRuntime({
      products: [{ product, capacityKw: CAPACITY_KW }],
      assets: [asset],
      port: gateway,
      frequencyPoint: 'lappeenranta/school-1-grid-meter/frequency',
      meteredPoint: 'lappeenranta/school-1-grid-meter/power',
    });
    const subscription = runtime.attach(hub.readings$);
    try {
      // A quiet baseline first (and no random event of the seed under way).
      await until(
        '10 s of normal frequency',
        () => {
          const proofs = runtime.proofs();
          return proofs.length === 0 && runtime.samplesLogged > 60;
        },
        30_000,
      );
      await wait(12_000 / SPEED);
      const dipMs = sim.sim.tMs;
      sim.sim.triggerFrequencyEvent(49.5, 20);
      await until(
        'the response to end',
        () => {
          const p = runtime.proofs();
          return p.length === 1 && p[0]!.endMs < clock() - 5_000 && runtime.responseKw === 0;
        },
        150_000 / SPEED,
      );
      await runtime.settled();

      const [proof] = runtime.proofs(100, 10_000, 5_000);
      expect(proof!.startMs).toBeGreaterThanOrEqual(dipMs - 1000);
      const samples = proof!.samples;
      expect(samples.length).toBeGreaterThan(300);
      // Tolerance: one 100 ms poll and one simulator tick of lag at the peak ramp (4 kW/s).
      const check = checkFrequencyResponse(product, CAPACITY_KW, samples, { toleranceKw: 0.1 * CAPACITY_KW });
      expect(check.expectedKwh).toBeGreaterThan(0.2);
      expect(check.performanceRatio).toBeGreaterThan(0.9);
      expect(check.worstDeficitKw).toBeLessThan(0.1 * CAPACITY_KW);

      // The deadlines read straight off the log: from the first sample below 49.9 Hz.
      const activation = product.activation;
      if (activation.kind !== 'frequency_droop') throw new Error('FCR-D is a droop product');
      const t0 = samples.find((s) => s.hz < 49.9)!.tMs;
      const deliveredAt = (ms: number) => {
        const s = samples.find((x) => x.tMs >= t0 + ms)!;
        return { delivered: s.baselineKw - s.meteredKw, hz: s.hz };
      };
      for (const ms of [5_000, 30_000]) {
        const { delivered, hz } = deliveredAt(ms);
        const fraction = requiredFraction(product, ms) * droopFraction(activation, hz);
        expect(delivered).toBeGreaterThan(fraction * CAPACITY_KW - 0.1 * CAPACITY_KW);
      }
      expect(runtime.messages).toEqual([]);
      const latencies = runtime.writes.map((w) => w.writtenMs - w.receivedMs);
      expect(latencies.length).toBeGreaterThan(5);
      console.log(
        `FCR-D: ${samples.length} samples, ratio ${check.performanceRatio.toFixed(3)}, worst deficit ${check.worstDeficitKw.toFixed(2)} kW, ${latencies.length} writes`,
      );
    } finally {
      subscription.unsubscribe();
    }
  }, 180_000);
});
