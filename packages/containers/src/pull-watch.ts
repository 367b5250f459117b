// Follows a running pull through its events, so that unpackImage can start on a layer
// as soon as the store holds it instead of after the whole image.
import type { PullEvent } from '@ctr/image';
import type { Descriptor, ImageManifest } from '@ctr/spec';
import type { PullIntoStore } from './unpack-image.ts';

/** The platform manifest a pull has chosen. */
export interface ChosenManifest {
  descriptor: Descriptor;
  manifest: ImageManifest;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody may be waiting when the pull fails (layers after the failing one are never
  // opened): that is not an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class PullWatch {
  /** Settles as the pull does. */
  readonly done: Promise<void>;
  readonly #chosen = deferred<ChosenManifest | undefined>();
  readonly #blobs = new Map<string, Deferred<void>>();

  constructor(pull: PullIntoStore, ref: string) {
    this.done = pull(ref, (e) => this.#event(e)).then(
      () => {
        // A pull that reported nothing (or not every blob) has still stored them all.
        this.#chosen.resolve(undefined);
        for (const b of this.#blobs.values()) b.resolve();
      },
      (error: unknown) => {
        this.#chosen.reject(error);
        for (const b of this.#blobs.values()) b.reject(error);
        throw error;
      },
    );
    this.done.catch(() => undefined);
  }

  /** The manifest, once the pull has chosen it; undefined when it finished without saying. */
  chosen(): Promise<ChosenManifest | undefined> {
    return this.#chosen.promise;
  }

  /** Settles when the store holds the blob, or rejects with the pull's error if that comes first. */
  stored(digest: string): Promise<void> {
    return this.#blobs.get(digest)?.promise ?? this.done;
  }

  #event(e: PullEvent): void {
    if (e.type === 'resolved') {
      for (const d of [e.content.config, ...e.content.layers]) {
        if (!this.#blobs.has(d.digest)) this.#blobs.set(d.digest, deferred());
      }
      this.#chosen.resolve({ descriptor: e.manifest, manifest: e.content });
    } else if (e.type === 'blob-done') {
      this.#blobs.get(e.digest)?.resolve();
    }
  }
}
