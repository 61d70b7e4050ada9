import { describe, expect, it } from 'vitest';
import { buildProgram, COMMANDS, commandOf, commandSummaries } from './program.js';

describe('cli/program: only the command run is loaded', () => {
  it('names the command of an invocation, also after help', () => {
    expect(commandOf(['bill', '--period', '2026-10'])).toBe('bill');
    expect(commandOf(['--verbose', 'demo'])).toBe('demo');
    expect(commandOf(['help', 'ledger'])).toBe('ledger');
    expect(commandOf(['--help'])).toBeUndefined();
    expect(commandOf([])).toBeUndefined();
    expect(commandOf(['nonsense'])).toBeUndefined();
  });

  it('lists every command for the top-level help from the summaries, loading none', async () => {
    const summaries = await commandSummaries();
    expect(Object.keys(summaries).sort()).toEqual(Object.keys(COMMANDS).sort());
    expect(summaries.bill).toMatch(/bill/);
    const loaded: string[] = [];
    const saved = { ...COMMANDS };
    for (const name of Object.keys(COMMANDS))
      COMMANDS[name] = () => {
        loaded.push(name);
        return saved[name]!();
      };
    try {
      const program = await buildProgram(undefined, summaries);
      expect(program.commands.map((c) => [c.name(), c.description()])).toEqual(Object.entries(summaries));
      expect(loaded).toEqual([]);
      await buildProgram('bill', summaries);
      expect(loaded).toEqual(['bill']);
      // Without the build's summaries (the sources), the help loads every command.
      loaded.length = 0;
      await buildProgram(undefined, null);
      expect(loaded.sort()).toEqual(Object.keys(COMMANDS).sort());
    } finally {
      Object.assign(COMMANDS, saved);
    }
  }, 120_000);
});
