import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMANDS, commandOf, SUMMARIES } from './program.js';

describe('cli/program: only the command run is loaded', () => {
  it('names the command of an invocation, also after help', () => {
    expect(commandOf(['bill', '--period', '2026-10'])).toBe('bill');
    expect(commandOf(['--verbose', 'demo'])).toBe('demo');
    expect(commandOf(['help', 'ledger'])).toBe('ledger');
    expect(commandOf(['--help'])).toBeUndefined();
    expect(commandOf([])).toBeUndefined();
    expect(commandOf(['nonsense'])).toBeUndefined();
  });

  it('lists every command for the top-level help without loading one', async () => {
    const loaded: string[] = [];
    const saved = { ...COMMANDS };
    for (const name of Object.keys(COMMANDS))
      COMMANDS[name] = () => {
        loaded.push(name);
        return saved[name]!();
      };
    try {
      const program = await buildProgram();
      expect(program.commands.map((c) => c.name()).sort()).toEqual(Object.keys(COMMANDS).sort());
      expect(program.helpInformation()).toContain('bill');
      expect(loaded).toEqual([]);
      await buildProgram('bill');
      expect(loaded).toEqual(['bill']);
    } finally {
      Object.assign(COMMANDS, saved);
    }
  });

  it('summarises each command with the description the command registers', async () => {
    expect(Object.keys(SUMMARIES).sort()).toEqual(Object.keys(COMMANDS).sort());
    for (const [name, load] of Object.entries(COMMANDS)) {
      const program = new Command();
      (await load()).register(program);
      expect(SUMMARIES[name], name).toBe(program.commands[0]!.description());
    }
  }, 120_000);
});
