// Finds and checks the program before the container is reported as created, so
// `create` fails with a clear message instead of `start` starting nothing: runc's
// "executable file not found in $PATH", plus a missing script interpreter or ELF
// loader and a binary built for another architecture, which execve(2) reports only
// as a bare ENOENT or ENOEXEC.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { arch } from 'node:process';
import { CtrError } from '@ctr/sys';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183 };

function execError(name: string, problem: string, hint?: string): CtrError {
  return new CtrError({ stage: 'runtime', op: `exec: ${JSON.stringify(name)}: ${problem}`, hint });
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path execve will run for `name`, looked up in the container's PATH like execvp. */
export function resolveExecutable(name: string, env: readonly string[]): string {
  if (name.includes('/')) {
    if (!isExecutableFile(name)) {
      throw execError(name, 'no such executable file', 'check process.args[0] and its mode in the container');
    }
    return name;
  }
  const pathVar = env.findLast((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  for (const dir of pathVar.split(':')) {
    const candidate = `${dir === '' ? '.' : dir}/${name}`;
    if (isExecutableFile(candidate)) return candidate;
  }
  throw execError(
    name,
    'executable file not found in $PATH',
    'check process.args[0] and PATH in process.env',
  );
}

/** Throws when the kernel would refuse to run `path`: missing interpreter, foreign ELF. */
export function checkExecutable(name: string, path: string): void {
  const head = Buffer.alloc(4096);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (head.toString('latin1', 0, 2) === '#!') {
    const line = head.toString('latin1', 2, n).split('\n')[0]!.trim();
    const interpreter = line.split(/[ \t]/)[0] ?? '';
    if (!isExecutableFile(interpreter)) {
      throw execError(
        name,
        `interpreter ${JSON.stringify(interpreter)} not found`,
        "the script's #! line names a program missing from the container",
      );
    }
    return;
  }
  if (n < 64 || head.readUInt32BE(0) !== 0x7f454c46) return;
  const machine = head.readUInt16LE(18);
  const expected = ELF_MACHINE[arch];
  if (expected !== undefined && machine !== expected) {
    throw execError(
      name,
      'exec format error',
      `the binary is built for ELF machine ${machine}; this host (${arch}) runs machine ${expected}`,
    );
  }
  const loader = elfInterpreter(path, head);
  if (loader !== undefined && !isExecutableFile(loader)) {
    throw execError(
      name,
      `ELF interpreter ${loader} not found`,
      'a dynamically linked binary needs its loader and libc in the container',
    );
  }
}

/** PT_INTERP of a 64-bit little-endian ELF, when its program headers are in the first page. */
function elfInterpreter(path: string, head: Buffer): string | undefined {
  if (head[4] !== 2 || head[5] !== 1) return undefined;
  const phoff = Number(head.readBigUInt64LE(32));
  const phentsize = head.readUInt16LE(54);
  const phnum = head.readUInt16LE(56);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 56 > head.length) return undefined;
    if (head.readUInt32LE(at) !== 3) continue;
    const offset = Number(head.readBigUInt64LE(at + 8));
    const size = Number(head.readBigUInt64LE(at + 32));
    const buf = Buffer.alloc(size);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buf, 0, size, offset);
    } finally {
      closeSync(fd);
    }
    return buf.toString('latin1').replace(/\0.*$/s, '');
  }
  return undefined;
}
