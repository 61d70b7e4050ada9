import { readFile } from 'node:fs/promises';

/**
 * The embedded database's engine, prepared ahead: PGlite's WebAssembly (9 MB) compiled and its
 * file-system bundle (6 MB) read. `WebAssembly.compile` runs on V8's background threads, so a
 * command that calls this first (cli/main.ts, before it loads the rest of the program) gets the
 * compile done while its main thread loads modules; `openEmbeddedPglite` then passes both to
 * PGlite instead of letting it read and compile them itself, on the critical path. Started
 * once per process; a failure (a PGlite whose files moved) leaves PGlite to load them itself.
 * This module imports nothing else, so calling it costs no module loading.
 */
export interface EmbeddedEngine {
  wasm: Promise<WebAssembly.Module>;
  bundle: Promise<Blob>;
}

let engine: EmbeddedEngine | undefined;
// Node's global, which this project's TypeScript libs (no DOM) declare only as a namespace of types.
const wasmApi = (
  globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WebAssembly.Module> } }
).WebAssembly;

export function warmEmbeddedEngine(): EmbeddedEngine {
  if (engine) return engine;
  const dist = new URL('./', import.meta.resolve('@electric-sql/pglite'));
  const wasm = readFile(new URL('pglite.wasm', dist)).then((bytes) => wasmApi.compile(bytes));
  const bundle = readFile(new URL('pglite.data', dist)).then((bytes) => new Blob([bytes]));
  // Awaited by the store when it opens; never an unhandled rejection meanwhile.
  wasm.catch(() => undefined);
  bundle.catch(() => undefined);
  engine = { wasm, bundle };
  return engine;
}

/** The prepared engine as PGlite options, or none when it could not be prepared. */
export async function embeddedEngineOptions(): Promise<{
  pgliteWasmModule?: WebAssembly.Module;
  fsBundle?: Blob;
}> {
  const e = warmEmbeddedEngine();
  try {
    const [pgliteWasmModule, fsBundle] = await Promise.all([e.wasm, e.bundle]);
    return { pgliteWasmModule, fsBundle };
  } catch {
    return {};
  }
}
