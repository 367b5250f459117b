import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { flock, LOCK } from '@ctr/sys';
import { errCode, unpackError } from './errors.ts';
import { mountOverlay, type OverlayMount, unmountOverlay } from './overlay.ts';

/** Who holds snapshots: an image ("image:<digest>") or a container root ("root:<id>"). */
export type Holder = string;

/**
 * Unpacked layers on disk, one directory per snapshot key (a chain ID, plus the id
 * map when owners are shifted), shared by every image that contains the same
 * stack. A snapshot is filled in tmp/ and renamed into place only when complete, so
 * a crash or a failed digest never leaves a half layer under its name.
 *
 * Layout: snapshots/<key>/ (the layer's files), tmp/ (fills in progress), roots/<id>/{upper,work},
 * refs/<sha256(holder)>.json. Reference counts are derived from the ref files, so
 * they cannot drift. Fills run under a shared lease (flock on gc.lock) and gc takes
 * it exclusively, so gc never removes a fill in progress or a snapshot whose holder
 * is not recorded yet; two processes filling the same key race harmlessly (the
 * second rename loses).
 */
export class SnapshotStore {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
    for (const d of ['snapshots', 'tmp', 'roots', 'refs'])
      mkdirSync(join(root, d), { recursive: true, mode: 0o700 });
  }

  /** The directory of a snapshot (it may not exist yet). */
  path(key: string): string {
    return join(this.root, 'snapshots', keyName(key));
  }

  has(key: string): boolean {
    return existsSync(this.path(key));
  }

  /**
   * Holds the store against gc until the returned function is called: begin, commit
   * and acquire run under it. flock, so a killed process never leaves it held.
   */
  async lease(): Promise<() => void> {
    const fd = openSync(join(this.root, 'gc.lock'), 'a', 0o600);
    let wait = 5;
    for (;;) {
      try {
        flock(fd, LOCK.SH | LOCK.NB);
        return () => closeSync(fd);
      } catch (e) {
        if (errCode(e) !== 'EWOULDBLOCK' && errCode(e) !== 'EAGAIN') {
          closeSync(fd);
          throw e;
        }
      }
      await sleep(wait);
      wait = Math.min(wait * 2, 100);
    }
  }

  /** An empty directory to fill for `key` (under a lease); commit or abort it. */
  begin(key: string): string {
    const tmp = join(this.root, 'tmp', `${keyName(key)}-${randomBytes(6).toString('hex')}`);
    mkdirSync(tmp, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    return tmp;
  }

  /** Moves a filled directory into place as the snapshot `key`. */
  commit(key: string, tmp: string): string {
    const final = this.path(key);
    try {
      renameSync(tmp, final);
    } catch (e) {
      // Another process committed the same key first: equal keys are equal trees.
      if (!existsSync(final)) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
    return final;
  }

  /** Removes an unfinished fill. */
  abort(tmp: string): void {
    rmSync(tmp, { recursive: true, force: true });
  }

  /** Records that `holder` uses these snapshots (replacing what it held before). */
  acquire(holder: Holder, keys: readonly string[]): void {
    const file = this.#refFile(holder);
    writeFileSync(`${file}.tmp`, JSON.stringify({ holder, keys }));
    renameSync(`${file}.tmp`, file);
  }

  /** Drops `holder`'s references; the snapshots stay until gc. */
  release(holder: Holder): void {
    rmSync(this.#refFile(holder), { force: true });
  }

  /** Every holder and the snapshot keys it holds. */
  holders(): Map<Holder, string[]> {
    const out = new Map<Holder, string[]>();
    for (const f of readdirSync(join(this.root, 'refs'))) {
      if (!f.endsWith('.json')) continue;
      const ref = JSON.parse(readFileSync(join(this.root, 'refs', f), 'utf8')) as {
        holder: string;
        keys: string[];
      };
      out.set(ref.holder, ref.keys);
    }
    return out;
  }

  /** How many holders reference a snapshot. */
  refcount(key: string): number {
    let n = 0;
    for (const keys of this.holders().values()) if (keys.includes(key)) n++;
    return n;
  }

  /** Snapshot keys present on disk. */
  list(): string[] {
    return readdirSync(join(this.root, 'snapshots')).map((n) => `sha256:${n}`);
  }

  /**
   * Removes snapshots no holder references, unfinished fills of crashed runs and the
   * upper/work dirs of container roots nobody holds. Returns the removed keys.
   */
  gc(): string[] {
    const fd = openSync(join(this.root, 'gc.lock'), 'a', 0o600);
    try {
      flock(fd, LOCK.EX | LOCK.NB);
    } catch (e) {
      closeSync(fd);
      if (errCode(e) !== 'EWOULDBLOCK' && errCode(e) !== 'EAGAIN') throw e;
      throw unpackError(
        'collect snapshots',
        this.root,
        'an unpack is in progress in this store; run gc again later',
        e,
      );
    }
    try {
      return this.#collect();
    } finally {
      closeSync(fd);
    }
  }

  #collect(): string[] {
    const held = new Set<string>();
    const roots = new Set<string>();
    for (const [holder, keys] of this.holders()) {
      for (const k of keys) held.add(keyName(k));
      if (holder.startsWith('root:')) roots.add(holder.slice(5));
    }
    const removed: string[] = [];
    for (const name of readdirSync(join(this.root, 'snapshots'))) {
      if (held.has(name)) continue;
      rmSync(join(this.root, 'snapshots', name), { recursive: true, force: true });
      removed.push(`sha256:${name}`);
    }
    for (const name of readdirSync(join(this.root, 'tmp'))) {
      rmSync(join(this.root, 'tmp', name), { recursive: true, force: true });
    }
    for (const id of readdirSync(join(this.root, 'roots'))) {
      if (!roots.has(id)) rmSync(join(this.root, 'roots', id), { recursive: true, force: true });
    }
    return removed;
  }

  /**
   * Mounts a writable container root at `target`: the snapshots (lowest first, as
   * in the image) as overlay lower dirs, plus a fresh upper and work dir, and holds
   * the snapshots as "root:<id>".
   */
  mountRoot(id: string, keys: readonly string[], target: string): OverlayMount {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(id)) {
      throw unpackError('mount container root', id, 'a root id is letters, digits, "_", "." and "-"');
    }
    const missing = keys.find((k) => !this.has(k));
    if (missing) throw unpackError('mount container root', target, `snapshot ${missing} is not prepared`);
    const dir = join(this.root, 'roots', id);
    if (existsSync(dir))
      throw unpackError('mount container root', target, `a root named ${id} already exists`);
    const m: OverlayMount = {
      target,
      lowerdirs: keys.map((k) => this.path(k)).reverse(),
      upperdir: join(dir, 'upper'),
      workdir: join(dir, 'work'),
    };
    mkdirSync(m.upperdir, { recursive: true });
    mkdirSync(m.workdir);
    // The overlay root takes the upper dir's attributes: give it the image's.
    const top = m.lowerdirs[0];
    if (top !== undefined) {
      const st = statSync(top);
      chownSync(m.upperdir, st.uid, st.gid);
      chmodSync(m.upperdir, st.mode & 0o7777);
    }
    this.acquire(`root:${id}`, keys);
    try {
      mountOverlay(m);
    } catch (e) {
      this.release(`root:${id}`);
      rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    return m;
  }

  /** Unmounts a container root, removes its upper and work dirs and drops its hold. */
  unmountRoot(id: string, target: string): void {
    try {
      unmountOverlay(target);
    } catch (e) {
      if (errCode(e) !== 'ENOENT') throw e;
    }
    rmSync(join(this.root, 'roots', id), { recursive: true, force: true });
    this.release(`root:${id}`);
  }

  #refFile(holder: Holder): string {
    return join(this.root, 'refs', `${createHash('sha256').update(holder).digest('hex')}.json`);
  }
}

/** The directory name of a key: the hex of "sha256:<hex>" (keys with suffixes keep them). */
function keyName(key: string): string {
  const m = /^sha256:([0-9a-f]{64}(?:-[0-9a-f]{12})?)$/.exec(key);
  if (!m)
    throw unpackError(
      'name snapshot',
      key,
      'a snapshot key is "sha256:<64 hex>" with an optional "-<12 hex>" suffix',
    );
  return m[1]!;
}
