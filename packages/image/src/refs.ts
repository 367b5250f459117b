import { parseReference } from '@ctr/registry';

/**
 * The name a reference is stored under in index.json: the full normalised form
 * (registry/repository:tag or @digest), so docker.io/library/alpine:3.20 and
 * localhost:5000/alpine:3.20 never collide. skopeo's `oci:DIR:REF` accepts this form.
 */
export function canonicalRef(ref: string): string {
  return parseReference(ref).toString();
}
