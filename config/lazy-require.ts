import { createRequire } from 'node:module';

const requireCjs = createRequire(import.meta.url);

/**
 * A CommonJS package loaded on first use instead of at import (CONTRIBUTING "Dependencies"):
 * `const mqtt = lazyRequire<typeof import('mqtt')>('mqtt')`, then `mqtt().connect(…)`. For a
 * heavy package only some runs use; every start pays for what the import graph pulls in.
 */
export function lazyRequire<T>(id: string): () => T {
  let loaded: T | undefined;
  return () => {
    loaded ??= requireCjs(id) as T;
    return loaded;
  };
}
