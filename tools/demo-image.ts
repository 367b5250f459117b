// Builds the demo image from Debian's busybox-static with the project's own image
// builder and pushes it to a registry with @ctr/registry.
// usage: node tools/demo-image.ts HOST:PORT/REPO:TAG
import { RegistryClient } from '../packages/registry/src/index.ts';
import { busyboxImage } from '../packages/testkit/src/index.ts';

const ref = process.argv[2];
if (!ref) {
  console.error('usage: node tools/demo-image.ts HOST:PORT/REPO:TAG');
  process.exit(2);
}
const image = await busyboxImage();
const client = new RegistryClient({ plainHttp: true });
for (const blob of [...image.layers, image.config]) {
  await client.pushBlob(ref, blob.bytes, blob.descriptor);
}
await client.pushManifest(ref, image.manifest.bytes, image.manifest.descriptor.mediaType);
console.log(`pushed ${ref} (${image.manifest.descriptor.digest})`);
