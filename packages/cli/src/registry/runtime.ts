import type { CommandEntry } from '../command.ts';

export const runtimeCommands: Record<string, CommandEntry> = {
  create: { summary: 'create a container', load: () => import('../commands/runtime/create.ts') },
  start: {
    summary: 'start the user program of a created container',
    load: () => import('../commands/runtime/start.ts'),
  },
  run: { summary: 'create and start a container', load: () => import('../commands/runtime/run.ts') },
  state: {
    summary: 'output the state of a container (OCI state JSON)',
    load: () => import('../commands/runtime/state.ts'),
  },
  kill: {
    summary: 'send a signal to a container (default SIGTERM)',
    load: () => import('../commands/runtime/kill.ts'),
  },
  delete: {
    summary: 'delete a container and everything it holds',
    load: () => import('../commands/runtime/delete.ts'),
  },
  list: { summary: 'list the containers under --root', load: () => import('../commands/runtime/list.ts') },
  pause: {
    summary: 'suspend every process of a container (cgroup freezer)',
    load: () => import('../commands/runtime/pause.ts'),
  },
  resume: { summary: 'resume a paused container', load: () => import('../commands/runtime/resume.ts') },
  ps: {
    summary: 'list the processes running in a container',
    load: () => import('../commands/runtime/ps.ts'),
  },
  events: {
    summary: 'display container statistics (--stats once, or every --interval)',
    load: () => import('../commands/runtime/events.ts'),
  },
  update: {
    summary: 'update the resource limits of a container',
    load: () => import('../commands/runtime/update.ts'),
  },
  features: {
    summary: 'show what this runtime supports (runtime-spec features.json)',
    load: () => import('../commands/runtime/features.ts'),
  },
  exec: {
    summary: 'run a new process inside a created or running container',
    load: () => import('../commands/runtime/exec.ts'),
  },
};
