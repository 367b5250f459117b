// Test bundles: a busybox-static rootfs and the config.json `ctr spec` writes (runc's
// defaults) with process.terminal false, adjusted per test.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRuntimeConfig, type Process, type RuntimeConfig } from '@ctr/spec';
import { makeBusyboxRootfs } from '@ctr/testkit';

export function makeBundle(
  dir: string,
  process: Partial<Process> = {},
  extra: Partial<RuntimeConfig> = {},
): string {
  mkdirSync(join(dir, 'rootfs'), { recursive: true });
  makeBusyboxRootfs(join(dir, 'rootfs'));
  const config = defaultRuntimeConfig();
  config.process = { ...config.process!, terminal: false, ...process };
  Object.assign(config, extra);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  return dir;
}
