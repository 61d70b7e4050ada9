/** Stop cleanly on Ctrl-C or a service manager's TERM; a second signal exits at once. */
export function stopOnSignals(stop: () => Promise<void>, say: (line: string) => void): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    say(`${signal} received, stopping (pending readings are written or spooled)…`);
    stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`gridflex: error while stopping: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
