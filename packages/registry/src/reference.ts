import { RegistryError } from './errors.ts';

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's registry API does not live at docker.io itself. */
const DOCKER_HUB_API = 'registry-1.docker.io';
const NAME_MAX = 255;

// The grammar of distribution's reference package (reference/regexp.go), written out.
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainName = `${domainComponent}(?:\\.${domainComponent})*`;
const ipv6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = new RegExp(`^(?:${domainName}|${ipv6})(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const HEX_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** A parsed image reference: `registry/repository[:tag][@digest]`. */
export interface Reference {
  /** The registry as users name it: `docker.io`, `localhost:5000`, `[::1]:5000`. */
  readonly registry: string;
  /** `library/alpine`, `org/team/app`. */
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  /** The host[:port] the API is reached at (`registry-1.docker.io` for Docker Hub). */
  readonly apiHost: string;
  /** The canonical, fully qualified form. */
  toString(): string;
}

function invalid(input: string, why: string, hint?: string): RegistryError {
  return new RegistryError({
    kind: 'reference',
    op: `parse reference "${input}"`,
    hint: hint ? `${why}; ${hint}` : why,
  });
}

/** Checks `algorithm:hex` and, for the known algorithms, the exact hex length. */
export function isValidDigest(digest: string): boolean {
  if (!DIGEST.test(digest)) return false;
  const [alg, hex = ''] = digest.split(':');
  const len = HEX_LENGTHS[alg ?? ''];
  return len === undefined || (hex.length === len && /^[a-f0-9]+$/.test(hex));
}

/** Builds a reference from its parts (validated like parseReference). */
export function makeReference(parts: {
  registry: string;
  repository: string;
  tag?: string | undefined;
  digest?: string | undefined;
}): Reference {
  const { registry, repository, tag, digest } = parts;
  const name = `${registry}/${repository}`;
  return {
    registry,
    repository,
    tag,
    digest,
    apiHost: registry === DOCKER_HUB ? DOCKER_HUB_API : registry,
    toString: () => `${name}${tag !== undefined ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}`,
  };
}

/**
 * Parses an image reference with Docker's normalisation: a first component is a
 * registry only if it has a dot, a port, is `localhost` or has uppercase letters
 * (`alpine` → `docker.io/library/alpine:latest`). A reference without tag or digest
 * gets `latest`; `name:tag@digest` keeps both (the digest is what is fetched).
 */
export function parseReference(input: string): Reference {
  if (input.length === 0) throw invalid(input, 'the reference is empty');
  if (/\s/.test(input)) throw invalid(input, 'a reference contains no whitespace');
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at !== -1) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isValidDigest(digest)) {
      throw invalid(input, 'the digest is malformed', 'a digest reads sha256:<64 lowercase hex digits>');
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(
        input,
        'the tag is malformed',
        'a tag is 1-128 of [A-Za-z0-9_.-] and does not start with . or -',
      );
    }
  }
  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  const first = slash === -1 ? '' : rest.slice(0, slash);
  if (
    slash !== -1 &&
    (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase() || first.startsWith('['))
  ) {
    registry = first;
    repository = rest.slice(slash + 1);
    if (!DOMAIN.test(registry)) throw invalid(input, `"${registry}" is not a valid registry host[:port]`);
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  if (repository.length === 0) throw invalid(input, 'the repository name is empty');
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        input,
        `"${component}" is not a valid repository component`,
        'repository components are lowercase letters and digits, separated by ".", "_", "__" or "-"',
      );
    }
  }
  if (`${registry}/${repository}`.length > NAME_MAX)
    throw invalid(input, `the name is longer than ${NAME_MAX} characters`);
  if (tag === undefined && digest === undefined) tag = 'latest';
  return makeReference({ registry, repository, tag, digest });
}
