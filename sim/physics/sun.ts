/** Sun position (NOAA low-precision formulas, ±0.5°) and clear-sky irradiance. */

const RAD = Math.PI / 180;

export interface SunPosition {
  /** Elevation above the horizon, degrees (negative at night). */
  elevationDeg: number;
  /** Azimuth clockwise from north, degrees. */
  azimuthDeg: number;
}

export function sunPosition(latDeg: number, lonDeg: number, tMs: number): SunPosition {
  const days = tMs / 86_400_000 + 2440587.5 - 2451545.0; // days since J2000.0
  const g = (357.529 + 0.98560028 * days) * RAD; // mean anomaly
  const q = 280.459 + 0.98564736 * days; // mean longitude, degrees
  const lambda = (q + 1.915 * Math.sin(g) + 0.02 * Math.sin(2 * g)) * RAD; // ecliptic longitude
  const eps = (23.439 - 0.00000036 * days) * RAD;
  const decl = Math.asin(Math.sin(eps) * Math.sin(lambda));
  const ra = Math.atan2(Math.cos(eps) * Math.sin(lambda), Math.cos(lambda));
  const gmstHours = (18.697374558 + 24.06570982441908 * days) % 24;
  const hourAngle = ((gmstHours * 15 + lonDeg) * RAD - ra) % (2 * Math.PI);
  const lat = latDeg * RAD;
  const sinEl = Math.sin(lat) * Math.sin(decl) + Math.cos(lat) * Math.cos(decl) * Math.cos(hourAngle);
  const el = Math.asin(Math.max(-1, Math.min(1, sinEl)));
  const az = Math.atan2(
    -Math.sin(hourAngle),
    Math.tan(decl) * Math.cos(lat) - Math.sin(lat) * Math.cos(hourAngle),
  );
  return { elevationDeg: el / RAD, azimuthDeg: (((az / RAD) % 360) + 360) % 360 };
}

/** Global horizontal irradiance under a clear sky, W/m² (Haurwitz model). */
export function clearSkyGhi(elevationDeg: number): number {
  if (elevationDeg <= 0) return 0;
  const s = Math.sin(elevationDeg * RAD);
  return 1098 * s * Math.exp(-0.057 / s);
}
