import type { SiteAddress } from './protocol.js';
import { TOPIC_ROOT } from './protocol.js';

export interface DiscoveryPoint {
  /** Relative key `device/point`. */
  key: string;
  kind: string;
  unit: string;
  name?: string;
}

/** Home Assistant's device and state classes for our point kinds (unknown kinds get neither). */
const CLASSES: Record<string, { device_class?: string; state_class: string }> = {
  power: { device_class: 'power', state_class: 'measurement' },
  energy_import: { device_class: 'energy', state_class: 'total_increasing' },
  energy_export: { device_class: 'energy', state_class: 'total_increasing' },
  soc: { device_class: 'battery', state_class: 'measurement' },
  temperature: { device_class: 'temperature', state_class: 'measurement' },
  voltage: { device_class: 'voltage', state_class: 'measurement' },
  current: { device_class: 'current', state_class: 'measurement' },
  frequency: { device_class: 'frequency', state_class: 'measurement' },
};

const HA_UNITS: Record<string, string> = {
  kW: 'kW',
  W: 'W',
  kWh: 'kWh',
  Wh: 'Wh',
  '%': '%',
  V: 'V',
  A: 'A',
  Hz: 'Hz',
  '°C': '°C',
};

/** Where the edge publishes a point's latest value for Home Assistant (plain number, retained). */
export function haStateTopic(a: SiteAddress, key: string): string {
  return `${TOPIC_ROOT}/${a.tenant}/${a.site}/ha/${key}`;
}

/**
 * Retained Home Assistant MQTT discovery configs (`homeassistant/sensor/<node>/<object>/config`)
 * so a building's values appear in Home Assistant without configuration. Energy counters get
 * `device_class: energy` + `state_class: total_increasing` (the energy dashboard needs both).
 */
export function discoveryMessages(
  a: SiteAddress,
  points: readonly DiscoveryPoint[],
): { topic: string; payload: string; retain: true }[] {
  const node = `gf-${a.tenant}-${a.site}`;
  return points.map((p) => {
    const object = p.key.replace(/[^a-z0-9_-]/g, '_');
    const classes = CLASSES[p.kind] ?? { state_class: 'measurement' };
    return {
      topic: `homeassistant/sensor/${node}/${object}/config`,
      retain: true as const,
      payload: JSON.stringify({
        name: p.name ?? p.key,
        unique_id: `${node}-${object}`,
        state_topic: haStateTopic(a, p.key),
        ...(HA_UNITS[p.unit] ? { unit_of_measurement: HA_UNITS[p.unit] } : {}),
        ...classes,
        device: { identifiers: [node], name: `Gridflex ${a.site}`, manufacturer: 'Gridflex', model: 'edge' },
      }),
    };
  });
}
