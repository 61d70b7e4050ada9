import type { Store } from '../store/index.js';
import { uplinkMigrations } from './outbox.js';
import { decode, type Obligations, ObligationsSchema } from './protocol.js';

/**
 * The edge's copy of the obligations central last published for its site, in its embedded
 * store. A message older than the one kept (`issuedAt`) is ignored: a retained copy delivered
 * late never replaces a newer list.
 */
export class ObligationStore {
  private constructor(
    private readonly store: Store,
    private readonly site: string,
  ) {}

  static async open(store: Store, site: string): Promise<ObligationStore> {
    await store.migrate(await uplinkMigrations());
    return new ObligationStore(store, site);
  }

  /** The kept list, or null when central never sent one (a stored row that no longer parses counts as none). */
  async latest(): Promise<Obligations | null> {
    const r = await this.store.db.query<{ body: string }>(
      'SELECT body FROM uplink_obligations WHERE site = $1',
      [this.site],
    );
    return r.rows[0] ? decode(ObligationsSchema, r.rows[0].body) : null;
  }

  /** Keep `msg` unless a newer one is kept already; true when it is now the one in force. */
  async save(msg: Obligations): Promise<boolean> {
    const r = await this.store.db.query(
      `INSERT INTO uplink_obligations (site, issued_at, body) VALUES ($1, $2, $3)
       ON CONFLICT (site) DO UPDATE SET issued_at = EXCLUDED.issued_at, body = EXCLUDED.body
       WHERE uplink_obligations.issued_at <= EXCLUDED.issued_at`,
      [this.site, msg.issuedAt, JSON.stringify(msg)],
    );
    return r.rowCount > 0;
  }
}
