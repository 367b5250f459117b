import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from '../errors.ts';

/**
 * A username and password (or registry token as password) for one registry, or an
 * OAuth2 refresh token (`identitytoken` in auth files, `<token>` from helpers) that is
 * only ever sent to the token realm.
 */
export interface Credentials {
  username: string;
  password: string;
  identityToken?: string;
}

/** Finds the credentials for a registry host ("docker.io", "localhost:5000"), or undefined for anonymous. */
export type CredentialLookup = (registry: string) => Promise<Credentials | undefined>;

interface AuthFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/**
 * The auth files podman and docker read, in podman's order: `$REGISTRY_AUTH_FILE`,
 * `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`,
 * `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
 */
export function defaultAuthFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? homedir();
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'containers', 'auth.json'));
  files.push(join(env.DOCKER_CONFIG ?? join(home, '.docker'), 'config.json'));
  return files;
}

// Docker stores Docker Hub under its v1 index URL.
const HUB_KEYS = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'https://index.docker.io/v1/'];

function keysFor(registry: string): string[] {
  const base = registry === 'docker.io' ? HUB_KEYS : [registry];
  return base.flatMap((k) =>
    k.includes('://') ? [k] : [k, `https://${k}`, `http://${k}`, `https://${k}/v1/`, `https://${k}/v2/`],
  );
}

function readAuthFile(path: string): AuthFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as AuthFile;
  } catch {
    // Neither the content nor the parser's message (which quotes it) is passed on: it holds secrets.
    throw new RegistryError({
      kind: 'auth',
      op: 'read auth file',
      path,
      hint: 'the file is not valid JSON; fix or remove it',
    });
  }
}

function decodeEntry(
  entry: NonNullable<AuthFile['auths']>[string],
  registry: string,
  file: string,
): Credentials | undefined {
  if (entry.identitytoken)
    return { username: entry.username ?? '', password: '', identityToken: entry.identitytoken };
  if (entry.username !== undefined && entry.password !== undefined)
    return { username: entry.username, password: entry.password };
  if (!entry.auth) return undefined;
  const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) {
    throw new RegistryError({
      kind: 'auth',
      op: `decode the credentials stored for ${registry}`,
      path: file,
      hint: 'the "auth" entry is not base64 of user:password',
    });
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Runs `docker-credential-<helper> get` with the server URL on stdin, as the
 * docker-credential-helpers protocol says. A helper that does not know the server
 * answers "credentials not found" and exits non-zero: that is anonymous, not an error.
 */
export function credentialHelper(helper: string): CredentialLookup {
  return (registry) =>
    new Promise((resolve, reject) => {
      const server = registry === 'docker.io' ? 'https://index.docker.io/v1/' : registry;
      const child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.resume();
      child.on('error', (cause) =>
        reject(
          new RegistryError({
            kind: 'auth',
            op: `run credential helper docker-credential-${helper}`,
            hint: 'install the helper or remove it from credHelpers/credsStore',
            cause,
          }),
        ),
      );
      child.on('close', (code) => {
        const text = Buffer.concat(out).toString('utf8');
        if (code !== 0) {
          if (/credentials not found/i.test(text)) return resolve(undefined);
          return reject(
            new RegistryError({
              kind: 'auth',
              op: `run credential helper docker-credential-${helper}`,
              hint: `it exited with status ${code}`,
            }),
          );
        }
        try {
          const parsed = JSON.parse(text) as { Username?: string; Secret?: string };
          // The helper protocol marks an identity token with the user name "<token>".
          if (parsed.Username === '<token>' && parsed.Secret !== undefined) {
            return resolve({ username: '', password: '', identityToken: parsed.Secret });
          }
          resolve(
            parsed.Secret !== undefined
              ? { username: parsed.Username ?? '', password: parsed.Secret }
              : undefined,
          );
        } catch {
          reject(
            new RegistryError({
              kind: 'auth',
              op: `read the answer of docker-credential-${helper}`,
              hint: 'the helper did not print JSON',
            }),
          );
        }
      });
      child.stdin.end(server);
    });
}

/**
 * Credentials from auth files: per file, a `credHelpers` entry for the registry,
 * then an `auths` entry, then the `credsStore` helper; the first file that knows the
 * registry wins. Results are cached per registry for the life of the lookup.
 */
export function authFileCredentials(files: string[] = defaultAuthFiles()): CredentialLookup {
  const cache = new Map<string, Promise<Credentials | undefined>>();
  const lookup = async (registry: string): Promise<Credentials | undefined> => {
    for (const file of files) {
      const auth = readAuthFile(file);
      if (!auth) continue;
      const keys = keysFor(registry);
      const helper = keys.map((k) => auth.credHelpers?.[k]).find((h) => h !== undefined);
      if (helper) return credentialHelper(helper)(registry);
      for (const k of keys) {
        const entry = auth.auths?.[k];
        if (entry) {
          const creds = decodeEntry(entry, registry, file);
          if (creds) return creds;
        }
      }
      if (auth.credsStore) {
        const creds = await credentialHelper(auth.credsStore)(registry);
        if (creds) return creds;
      }
    }
    return undefined;
  };
  return (registry) => {
    let hit = cache.get(registry);
    if (!hit) {
      hit = lookup(registry);
      cache.set(registry, hit);
    }
    return hit;
  };
}

/** Fixed credentials per registry host, for programs that hold them already. */
export function staticCredentials(map: Record<string, Credentials>): CredentialLookup {
  return async (registry) => map[registry];
}
