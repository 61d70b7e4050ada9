export interface BatteryParams {
  capacityWh: number;
  maxChargeW: number;
  maxDischargeW: number;
  chargeEfficiency: number;
  dischargeEfficiency: number;
  minSocPct: number;
  maxSocPct: number;
}

/**
 * One step of a battery following an AC power setpoint (positive = charging, negative =
 * discharging) within its power limits and SoC band. Returns the AC power actually drawn and
 * the new stored energy. Losses: charging stores P·ηc·dt, discharging takes P/ηd·dt.
 */
export function stepBattery(
  p: BatteryParams,
  storedWh: number,
  setpointW: number,
  dtS: number,
): { powerW: number; storedWh: number } {
  const h = dtS / 3600;
  if (h <= 0) return { powerW: 0, storedWh };
  const minWh = (p.capacityWh * p.minSocPct) / 100;
  const maxWh = (p.capacityWh * p.maxSocPct) / 100;
  if (setpointW > 0) {
    const room = Math.max(0, maxWh - storedWh);
    const powerW = Math.min(setpointW, p.maxChargeW, room / (p.chargeEfficiency * h));
    return { powerW, storedWh: Math.min(maxWh, storedWh + powerW * p.chargeEfficiency * h) };
  }
  if (setpointW < 0) {
    const avail = Math.max(0, storedWh - minWh);
    const out = Math.min(-setpointW, p.maxDischargeW, (avail * p.dischargeEfficiency) / h);
    return { powerW: -out, storedWh: Math.max(minWh, storedWh - (out / p.dischargeEfficiency) * h) };
  }
  return { powerW: 0, storedWh };
}
