const STOPPING = 'stopping (pending readings are written or spooled)';

/**
 * Ctrl-C or a service manager's TERM, caught from the moment this is called: for a command
 * that takes a while to start (`run`, `demo`), call it before starting and hand it the stop
 * with `stopWith` once started. A signal while starting is remembered (`SIGINT received while
 * starting; …`) and the stop runs as soon as there is something to stop, instead of the
 * default of dying half-started. A second signal exits at once. `doing` says what stopping
 * does (`SIGINT received, <doing>…`).
 */
export function catchSignals(
  say: (line: string) => void,
  doing = STOPPING,
): {
  /** Stop with this from now on; true when a signal already came, so it is stopping now. */
  stopWith(stop: () => Promise<void>): boolean;
} {
  let stop: (() => Promise<void>) | null = null;
  let signalled = false;
  const run = (s: () => Promise<void>) =>
    s().then(
      () => process.exit(0),
      (err) => {
        console.error(`gridflex: error while stopping: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    if (stop) {
      say(`${signal} received, ${doing}…`);
      run(stop);
    } else say(`${signal} received while starting; ${doing} once started…`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopWith(s) {
      stop = s;
      if (signalled) run(s);
      return signalled;
    },
  };
}

/** Stop cleanly on Ctrl-C or a service manager's TERM; a second signal exits at once. */
export function stopOnSignals(
  stop: () => Promise<void>,
  say: (line: string) => void,
  doing = STOPPING,
): void {
  catchSignals(say, doing).stopWith(stop);
}
