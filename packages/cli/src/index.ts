export type { Command, GlobalOptions } from './command.ts';
export { main } from './main.ts';
