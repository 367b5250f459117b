// Builds the demo image from Debian's busybox-static with the project's own image
// builder and pushes it to a registry with @ctr/registry.
// usage: node tools/demo-image.ts HOST:PORT/REPO:TAG
import { RegistryClient } from '../packages/registry/src/index.ts';
import { busyboxImage, pushBuiltImage } from '../packages/testkit/src/index.ts';

const ref = process.argv[2];
if (!ref) {
  console.error('usage: node tools/demo-image.ts HOST:PORT/REPO:TAG');
  process.exit(2);
}
const image = await busyboxImage();
const client = new RegistryClient({ plainHttp: true });
const colon = ref.lastIndexOf(':');
await pushBuiltImage(client, ref.slice(0, colon), ref.slice(colon + 1), image);
console.log(`pushed ${ref} (${image.manifest.descriptor.digest})`);
