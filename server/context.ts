import type { Site } from '../model/index.js';
import type { Store } from '../store/index.js';
import type { Hub, StoreWriter } from '../stream/index.js';

/** What the HTTP layer is given by whoever starts it (the CLI, or a test). */
export interface AppContext {
  store: Store;
  hub: Hub;
  sites: Site[];
  writer?: StoreWriter;
  version: string;
}
