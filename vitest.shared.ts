// One vitest configuration for every package: packages resolve to their TypeScript
// sources (the "source" export condition), so tests never run stale builds of siblings.
import { defineProject } from 'vitest/config';

export const packageProject = (name: string) =>
  defineProject({
    resolve: { conditions: ['source', 'import', 'node', 'default'] },
    ssr: { resolve: { conditions: ['source', 'import', 'node', 'default'] } },
    test: {
      name,
      include: ['test/**/*.test.ts'],
      testTimeout: 60_000,
      hookTimeout: 120_000,
      pool: 'forks',
    },
  });
