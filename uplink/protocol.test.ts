import { describe, expect, it } from 'vitest';
import { mosquittoAcl } from './acl.js';
import { discoveryMessages } from './discovery.js';
import {
  CommandSchema,
  decode,
  fromWire,
  parseTopic,
  TelemetrySchema,
  topic,
  toWire,
  wildcard,
} from './protocol.js';

const a = { tenant: 'acme', site: 'site-a' };

describe('uplink protocol', () => {
  it('builds and parses site topics; anything else is not ours', () => {
    expect(topic(a, 'tele')).toBe('gf/v1/acme/site-a/tele');
    expect(parseTopic('gf/v1/acme/site-a/tele')).toEqual({ ...a, channel: 'tele' });
    expect(parseTopic('gf/v1/acme/site-a/other')).toBeNull();
    expect(parseTopic('gf/v1/ACME/site-a/tele')).toBeNull();
    expect(parseTopic('gf/v2/acme/site-a/tele')).toBeNull();
    expect(wildcard('tele', { group: 'ingest' })).toBe('$share/ingest/gf/v1/+/+/tele');
  });

  it('stores a wire reading under the topic site, whatever the key claims', () => {
    const r = fromWire('site-a', ['meter/power', 1000, 5, 0]);
    expect(r).toEqual({ pointId: 'site-a/meter/power', ts: 1000, value: 5, quality: 'good' });
    expect(toWire('site-a', r)).toEqual(['meter/power', 1000, 5, 0]);
    // A key cannot climb out of its site: ".." and absolute keys do not validate.
    const bad = (key: string) =>
      decode(
        TelemetrySchema,
        JSON.stringify({ v: 1, edge: 'e', msgId: 'm', seq: 1, ts: 0, readings: [[key, 0, 1, 0]] }),
      );
    expect(bad('/site-b/meter/power')).toBeNull();
    expect(bad('../site-b/power')).toBeNull();
    expect(bad('meter/power')).not.toBeNull();
  });

  it('refuses a reading without a value unless it is bad, a wrong version and broken JSON', () => {
    const msg = (readings: unknown, v = 1) =>
      JSON.stringify({ v, edge: 'e', msgId: 'm', seq: 1, ts: 0, readings });
    expect(decode(TelemetrySchema, msg([['m/p', 0, null, 0]]))).toBeNull();
    expect(decode(TelemetrySchema, msg([['m/p', 0, null, 2]]))).not.toBeNull();
    expect(decode(TelemetrySchema, msg([], 2))).toBeNull();
    expect(decode(TelemetrySchema, '{"v":1,')).toBeNull();
  });

  it('a command carries setpoints or a schedule, not both', () => {
    const base = { v: 1, cmdId: 'c', seq: 1, issuedAt: 0, validUntil: 1 };
    expect(CommandSchema.safeParse({ ...base, setpoints: [] }).success).toBe(true);
    expect(CommandSchema.safeParse({ ...base, setpoints: [], schedule: [] }).success).toBe(false);
    expect(CommandSchema.safeParse(base).success).toBe(false);
  });

  it('Home Assistant discovery: energy counters for the energy dashboard, power as a measurement', () => {
    const [energy, power] = discoveryMessages(a, [
      { key: 'meter/import', kind: 'energy_import', unit: 'kWh' },
      { key: 'meter/power', kind: 'power', unit: 'kW' },
    ]).map((m) => ({ topic: m.topic, ...JSON.parse(m.payload) }));
    expect(energy).toMatchObject({
      topic: 'homeassistant/sensor/gf-acme-site-a/meter_import/config',
      device_class: 'energy',
      state_class: 'total_increasing',
      unit_of_measurement: 'kWh',
      state_topic: 'gf/v1/acme/site-a/ha/meter/import',
    });
    expect(power).toMatchObject({ device_class: 'power', state_class: 'measurement' });
  });

  it('the ACL grants an edge its own site only', () => {
    const acl = mosquittoAcl([{ ...a, username: 'edge-site-a' }]);
    const block = acl.split('user edge-site-a')[1]!;
    expect(block).toContain('topic write gf/v1/acme/site-a/tele');
    expect(block).not.toMatch(/\+|site-b/);
  });
});
