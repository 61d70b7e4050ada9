export { baselineSchedule } from './baseline.js';
export { type AssetColumns, type BuildOptions, buildLp, type Layout } from './build.js';
export { type CheckResult, type CostBreakdown, checkSchedule, scheduleCost } from './check.js';
export { assetAloneInfeasibility, diagnoseInfeasibility, type Infeasibility } from './diagnose.js';
export { type Binding, type Explanation, explain } from './explain.js';
export { type HeadroomOptions, headroomFromSchedule } from './headroom.js';
export { LpBuilder, type LpModel, objectiveOf, rowActivity, toCplexLp, toMps } from './lp.js';
export { type OptimizeResult, optimize } from './optimize.js';
export {
  type AssetProblem,
  AssetProblemSchema,
  type Problem,
  type ProblemInput,
  ProblemSchema,
  parseProblem,
} from './problem.js';
export { type AssetSchedule, extractSchedule, type Schedule } from './schedule.js';
export {
  algorithmFor,
  IPM_MIN_COLUMNS,
  type LpSolution,
  type LpSolver,
  PRESOLVE_MIN_COLUMNS,
  presolveFor,
  type SolveOptions,
  type SolverName,
  type SolveStatus,
} from './solver.js';
export { highsSolver } from './solvers/highs.js';
export { JSL_MAX_SIZE, jslSize, jslSolver } from './solvers/jsl.js';

import type { LpSolver, SolverName } from './solver.js';
import { autoSolver, cbcSolver } from './solvers/cbc.js';
import { highsSolver } from './solvers/highs.js';
import { jslSolver } from './solvers/jsl.js';

export const SOLVERS: Record<SolverName, LpSolver> = {
  highs: highsSolver,
  jsl: jslSolver,
  cbc: cbcSolver(),
  auto: autoSolver(),
};
export { planFleet, type SiteProblem } from './fleet.js';
export {
  fitLoadModel,
  type LoadForecast,
  type LoadModel,
  loadForecastError,
  predictLoad,
} from './forecast/load-model.js';
export { parseOpenMeteo, type WeatherForecast, type WeatherHour } from './forecast/open-meteo.js';
export { type PvArray, PvArraySchema, pvFromWeather, weatherYieldFactor } from './forecast/solar.js';
export { outdoorTemperatureC } from './forecast/temperature.js';
export { type WeatherReading, WeatherSource, type WeatherSourceOptions } from './forecast/weather-source.js';
export {
  DEFAULT_TARIFF,
  type Forecaster,
  gridPowerPoints,
  type LiveEvent,
  LiveLoop,
  type LiveLoopOptions,
  profileForecaster,
  storeForecaster,
  type Tariff,
  TariffSchema,
  tariffPrices,
} from './live.js';
export { startLiveOptimizer } from './live-runtime.js';
export { migrateOptimizer, PlanRepository, type StoredPlan } from './plan-store.js';
export { SolveWorker, type WorkerSolveOptions } from './pool.js';
export { type PeakPeriod, PeakPeriodSchema } from './problem.js';
export {
  anchorTargets,
  type Plan,
  type PlanRequest,
  type ReplanOptions,
  replan,
  type SitePlannerOptions,
  shiftSchedule,
  sitePlanner,
  workerSolver,
} from './replan.js';
export {
  type AssetSetpoint,
  GatewaySetpointSink,
  type SetpointSink,
  type SetpointWrite,
  setpointsAt,
} from './setpoint-sink.js';
export { autoSolver, cbcSolver, findCbc, NATIVE_MIN_COLUMNS } from './solvers/cbc.js';
export { PersistentHighs } from './solvers/highs.js';
export { billOf, type LoadProfile, type MonthBill } from './tariffs/bill.js';
export { parsePriceCsv } from './tariffs/csv.js';
export { parseEntsoeA44 } from './tariffs/entsoe.js';
export { EntsoePriceSource, type EntsoeSourceOptions, type PriceReading } from './tariffs/entsoe-source.js';
export { monthPeakSoFar } from './tariffs/peak-so-far.js';
export { type SlotPrices, tariffSlotPrices, versionAt } from './tariffs/prices.js';
export { parseSiteTariff, type SiteTariff, SiteTariffSchema } from './tariffs/schema.js';
export type { SpotPrice } from './tariffs/spot.js';
