import { BUILTIN_PROFILES, SetpointWriteRepository } from '../gateway/index.js';
import * as ledger from '../ledger/index.js';
import * as market from '../market/index.js';
import { gridPowerPoints, migrateOptimizer, PlanRepository } from '../optimizer/index.js';
import type { ServerModules } from '../server/index.js';
import type { Store } from '../store/index.js';

/**
 * What the HTTP layer runs of the core modules (server/modules.ts): built here, in the
 * composition root, so server/ imports gateway, optimizer, market and ledger only as types.
 * Runs the optimiser's and the gateway's migrations, so the plan and write pages work
 * before the first plan or write.
 */
export async function serverModules(store: Store): Promise<ServerModules> {
  await migrateOptimizer(store);
  const plans = new PlanRepository(store.db);
  const writes = await SetpointWriteRepository.open(store);
  return {
    plans: {
      latest: (site) => plans.latest(site),
      list: (site, fromMs, toMs) => plans.list(site, fromMs, toMs),
      get: (id) => plans.get(id),
      gridPowerPoints,
    },
    writes,
    ledger: {
      BillBook: ledger.BillBook,
      billCsv: ledger.billCsv,
      billFigures: ledger.billFigures,
      billHeader: ledger.billHeader,
      billHtml: ledger.billHtml,
      billJson: ledger.billJson,
      formatPercent: ledger.formatPercent,
      GRID_ALONE_METHOD: ledger.GRID_ALONE_METHOD,
      // ledger/pdf.ts loads playwright-core inside htmlToPdf, only when a PDF is asked for.
      htmlToPdf: ledger.htmlToPdf,
      LEDGER_CHECKPOINT: ledger.LEDGER_CHECKPOINT,
      LEDGER_NO_PROFILE: ledger.LEDGER_NO_PROFILE,
      percentTenths: ledger.percentTenths,
      profileConsent: ledger.profileConsent,
      profileCsv: ledger.profileCsv,
      profileJson: ledger.profileJson,
      profilePeriods: ledger.profilePeriods,
      qrBillSvg: ledger.qrBillSvg,
      setProfileConsent: ledger.setProfileConsent,
      unitProfile: ledger.unitProfile,
    },
    market: {
      AcceptanceSchema: market.AcceptanceSchema,
      ActivationBodySchema: market.ActivationBodySchema,
      PriceStrategySchema: market.PriceStrategySchema,
      findPortfolio: market.findPortfolio,
      portfolioScopes: market.portfolioScopes,
      settlementCsv: market.settlementCsv,
      settlementJson: market.settlementJson,
    },
    profiles: BUILTIN_PROFILES,
  };
}
