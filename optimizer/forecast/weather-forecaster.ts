import type { Forecaster } from '../live.js';
import { type PvArray, pvFromWeather, WEATHER_YIELD_DEFAULT } from './solar.js';
import { outdoorTemperatureC } from './temperature.js';
import type { WeatherReading } from './weather-source.js';

/**
 * A forecaster with the weather in it: PV from the forecast's irradiance on the configured
 * arrays (all `pv` assets' arrays together, × WEATHER_YIELD_DEFAULT: the measured-yield
 * correction is not applied yet), outdoor temperature per slot for the heat pumps. Slots the
 * forecast does not cover, and every slot while the source has never answered, keep `base`'s
 * values (clear sky × measured yield, the constant temperature). `arrays` empty: temperature only.
 */
export function weatherForecaster(
  base: Forecaster,
  weather: { get(): Promise<WeatherReading> },
  arrays: readonly PvArray[],
): Forecaster {
  return async (startMs, slots, slotMinutes) => {
    const f = await base(startMs, slots, slotMinutes);
    let reading: WeatherReading;
    try {
      reading = await weather.get();
    } catch {
      return f;
    }
    const at = { startMs, slots, slotMinutes };
    const fallbackC = typeof f.outdoorC === 'number' ? f.outdoorC : (f.outdoorC[0] ?? 10);
    const outdoorC = outdoorTemperatureC(reading.forecast, { ...at, fallbackC }).celsius;
    if (arrays.length === 0) return { ...f, outdoorC };
    const pv = pvFromWeather(reading.forecast, arrays, { ...at, fallbackKw: f.pvKw });
    const missing = new Set(pv.missing);
    const pvKw = pv.kw.map((kw, t) => (missing.has(t) ? kw : kw * WEATHER_YIELD_DEFAULT));
    return { ...f, pvKw, outdoorC };
  };
}
