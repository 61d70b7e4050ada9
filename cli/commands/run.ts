import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('run').description('run the controller for the sites of gridflex.yaml');
}
