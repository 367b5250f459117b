import { readFileSync } from 'node:fs';
import { update } from '@ctr/runtime';
import type { LinuxResources } from '@ctr/spec';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';
import { containerId } from './shared.ts';

const num = (v: unknown, flag: string): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n))
    throw new CtrError({ stage: 'cli', op: `invalid --${flag} ${String(v)}`, hint: 'a number' });
  return n;
};

export default defineCommand({
  summary: 'update the resource limits of a container',
  usage:
    'update [--resources FILE|-] [--memory N] [--memory-swap N] [--cpu-shares N] [--cpu-quota N] [--cpu-period N] [--cpuset-cpus L] [--pids-limit N] ID',
  details: '--resources reads linux.resources JSON from FILE ("-" for stdin); the flags override it.',
  options: {
    resources: { type: 'string', short: 'r' },
    memory: { type: 'string' },
    'memory-swap': { type: 'string' },
    'memory-reservation': { type: 'string' },
    'cpu-shares': { type: 'string' },
    'cpu-quota': { type: 'string' },
    'cpu-period': { type: 'string' },
    'cpuset-cpus': { type: 'string' },
    'cpuset-mems': { type: 'string' },
    'pids-limit': { type: 'string' },
  },
  positionals: true,
  async run({ values, positionals, globals }) {
    const id = containerId(positionals, this.usage);
    const file = values.resources as string | undefined;
    const resources: LinuxResources = file
      ? (JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8')) as LinuxResources)
      : {};
    const memory = {
      limit: num(values.memory, 'memory'),
      swap: num(values['memory-swap'], 'memory-swap'),
      reservation: num(values['memory-reservation'], 'memory-reservation'),
    };
    const cpu = {
      shares: num(values['cpu-shares'], 'cpu-shares'),
      quota: num(values['cpu-quota'], 'cpu-quota'),
      period: num(values['cpu-period'], 'cpu-period'),
      cpus: values['cpuset-cpus'] as string | undefined,
      mems: values['cpuset-mems'] as string | undefined,
    };
    const defined = <T extends object>(o: T) =>
      Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
    if (Object.keys(defined(memory)).length) resources.memory = { ...resources.memory, ...defined(memory) };
    if (Object.keys(defined(cpu)).length) resources.cpu = { ...resources.cpu, ...defined(cpu) };
    const pids = num(values['pids-limit'], 'pids-limit');
    if (pids !== undefined) resources.pids = { limit: pids };
    await update({ root: globals.root, id, resources });
    return 0;
  },
});
