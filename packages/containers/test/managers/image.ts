import { join } from 'node:path';
import { busyboxImage, type RegistryServer, writeOciLayout } from '@ctr/testkit';
import { ok, runTool } from './tools.ts';

/**
 * Pushes testkit's busybox image to `registry` as `busybox:latest` with skopeo (the
 * managers pull it from there like from any registry) and returns its reference.
 */
export async function publishBusybox(registry: RegistryServer, dir: string): Promise<string> {
  const layout = join(dir, 'layout');
  writeOciLayout(layout, await busyboxImage(), 'busybox');
  const ref = `${registry.host}/busybox:latest`;
  ok(
    'skopeo copy',
    await runTool('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:busybox`, `docker://${ref}`]),
  );
  return ref;
}
