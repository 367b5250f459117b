import { writeFileSync } from 'node:fs';
import {
  compileSeccomp,
  describeVerdict,
  disassemble,
  evaluateSeccomp,
  readSeccompProfile,
  type SeccompProgram,
} from '@ctr/seccomp';
import { CtrError } from '@ctr/sys';
import { defineCommand } from '../../command.ts';
import { logLine } from '../../log.ts';

export default defineCommand({
  summary: 'compile, disassemble and query OCI seccomp profiles (compile | check)',
  usage:
    'seccomp compile PROFILE.json [--arch ARCH] [--disasm] [--output FILE]\n       ctr seccomp check PROFILE.json SYSCALL [ARGS...] [--arch ARCH]',
  details: `PROFILE.json is a bare linux.seccomp object or a whole config.json.
compile prints the BPF program as assembly with syscall names in comments; with
--output it writes the raw program instead (struct sock_filter, 8 bytes per
instruction, host byte order), and --disasm prints the assembly as well.
check prints what the filter decides for SYSCALL (a name or number) called with
ARGS (decimal or 0x hex). --arch selects the architecture of the filter (compile)
or of the calling task (check): x86_64, x86, x32, aarch64; default: this host's.`,
  options: {
    arch: { type: 'string' },
    disasm: { type: 'boolean' },
    output: { type: 'string', short: 'o' },
  },
  positionals: true,
  async run({ values, positionals, globals }) {
    const [sub, file, ...rest] = positionals;
    if ((sub !== 'compile' && sub !== 'check') || file === undefined) {
      throw new CtrError({
        stage: 'cli',
        op: `seccomp ${sub ?? ''}`.trim(),
        hint: 'usage: ctr seccomp compile PROFILE.json | ctr seccomp check PROFILE.json SYSCALL [ARGS...]',
      });
    }
    const arch = values.arch as string | undefined;
    const profile = readSeccompProfile(file);
    if (sub === 'check') {
      const [syscall, ...args] = rest;
      if (syscall === undefined) {
        throw new CtrError({ stage: 'cli', op: 'seccomp check', hint: 'name the syscall to check' });
      }
      // A 64-bit --arch is the filter's native one; x86 and x32 run under the host's.
      const program = compileSeccomp(profile, arch === 'x86_64' || arch === 'aarch64' ? { arch } : {});
      report(program, globals);
      const d = evaluateSeccomp(program, {
        syscall: /^\d+$/.test(syscall) ? Number(syscall) : syscall,
        ...(arch ? { arch } : {}),
        args: args.map(parseArg),
      });
      process.stdout.write(`${syscall} (${d.arch} nr ${d.nr}): ${describeVerdict(d)}\n`);
      return 0;
    }
    const program = compileSeccomp(profile, arch ? { arch } : {});
    report(program, globals);
    if (values.output !== undefined) writeFileSync(values.output as string, program.bytes());
    if (values.output === undefined || values.disasm) {
      process.stdout.write(
        `; ${program.instructions.length} instructions for ${program.architectures.join(', ')}; flags: ${program.flagNames.join(' ') || 'none'}\n`,
      );
      process.stdout.write(disassemble(program));
    }
    return 0;
  },
});

function report(program: SeccompProgram, globals: Parameters<typeof logLine>[0]): void {
  if (program.skippedSyscalls.length) {
    logLine(globals, 'debug', `seccomp: unknown syscalls skipped: ${program.skippedSyscalls.join(' ')}`);
  }
  if (program.skippedArchitectures.length) {
    logLine(
      globals,
      'debug',
      `seccomp: architectures without a syscall table: ${program.skippedArchitectures.join(' ')}`,
    );
  }
  if (program.skippedFlags.length) {
    logLine(globals, 'debug', `seccomp: flags that do not apply: ${program.skippedFlags.join(' ')}`);
  }
}

function parseArg(text: string): bigint {
  try {
    return BigInt(text);
  } catch {
    throw new CtrError({
      stage: 'cli',
      op: `seccomp check argument ${text}`,
      hint: 'arguments are integers (decimal or 0x hex)',
    });
  }
}
