/**
 * Stop cleanly on Ctrl-C or a service manager's TERM; a second signal exits at once. `doing`
 * says what stopping does (`SIGINT received, <doing>…`).
 */
export function stopOnSignals(
  stop: () => Promise<void>,
  say: (line: string) => void,
  doing = 'stopping (pending readings are written or spooled)',
): void {
  let signalled = false;
  const handler = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    say(`${signal} received, ${doing}…`);
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
