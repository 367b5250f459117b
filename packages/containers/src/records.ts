// Image-run containers on disk: one directory per container under the containers
// root, holding the bundle and a small record of what was run. The runtime's own
// state (pid, status) stays in the runtime's --root; this adds what a person asks
// about: name, image, command, creation time.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CtrError } from '@ctr/sys';

export interface ContainerMeta {
  id: string;
  name: string;
  image: string;
  command: string[];
  created: string;
  /** The bundle directory (config.json, rootfs). */
  bundle: string;
  /** How the root was made: flat directory or overlay snapshot mount. */
  rootMode: 'flat' | 'overlay';
  /** The image's StopSignal, used by `stop`. */
  stopSignal?: string | undefined;
  /** Remove everything when the program exits (`--rm`). */
  autoRemove: boolean;
}

/** $CTR_CONTAINERS or /var/lib/ctr-containers. */
export const defaultContainersRoot = (): string => process.env.CTR_CONTAINERS ?? '/var/lib/ctr-containers';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

const notFound = (what: string) =>
  new CtrError({
    stage: 'containers',
    op: `find container ${what}`,
    hint: 'no such container; see `ctr container ls -a`',
  });

export class ContainerRecords {
  readonly root: string;

  constructor(root = defaultContainersRoot()) {
    this.root = root;
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  /** A new 64-hex id, as docker and podman use. */
  newId(): string {
    return randomBytes(32).toString('hex');
  }

  dir(id: string): string {
    return join(this.root, id);
  }

  /** Checks a name is well-formed and unused. */
  checkName(name: string): void {
    if (!NAME.test(name)) {
      throw new CtrError({
        stage: 'containers',
        op: `use name ${JSON.stringify(name)}`,
        hint: 'names are letters, digits, _ . - (starting with a letter or digit), at most 128',
      });
    }
    if (this.list().some((m) => m.name === name)) {
      throw new CtrError({
        stage: 'containers',
        op: `use name ${name}`,
        hint: 'the name is in use; remove that container first (ctr container rm)',
      });
    }
  }

  save(meta: ContainerMeta): void {
    const dir = this.dir(meta.id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, '.meta.json.tmp');
    writeFileSync(tmp, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
    renameSync(tmp, join(dir, 'meta.json'));
  }

  list(): ContainerMeta[] {
    const out: ContainerMeta[] = [];
    for (const id of readdirSync(this.root)) {
      try {
        out.push(JSON.parse(readFileSync(join(this.root, id, 'meta.json'), 'utf8')) as ContainerMeta);
      } catch {
        // A directory whose run is still being set up, or was torn down halfway.
      }
    }
    return out.sort((a, b) => a.created.localeCompare(b.created));
  }

  /** By exact name, full id, or a unique id prefix (at least 4 characters). */
  find(nameOrId: string): ContainerMeta {
    const all = this.list();
    const exact = all.find((m) => m.name === nameOrId || m.id === nameOrId);
    if (exact) return exact;
    const byPrefix = nameOrId.length >= 4 ? all.filter((m) => m.id.startsWith(nameOrId)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    throw notFound(nameOrId);
  }
}
