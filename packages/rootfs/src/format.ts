import { MOUNT_ATTR } from '@ctr/sys';
import { attrNames, type ParsedOptions } from './options.ts';
import type { RootfsOp, RootfsPlan } from './plan.ts';

const PROPAGATION_NAMES: Record<number, string> = {
  262144: 'private',
  524288: 'slave',
  1048576: 'shared',
  131072: 'unbindable',
};

function optionWords(o: ParsedOptions): string {
  const words = [
    ...(o.recursive ? ['rbind'] : o.bind ? ['bind'] : []),
    ...attrNames(o.attrSet, o.attrClr),
    ...attrNames(o.recAttrSet, o.recAttrClr).map((w) => `r${w}`),
    ...o.propagation.map((p) => `${p.recursive ? 'r' : ''}${PROPAGATION_NAMES[p.type] ?? p.type}`),
    ...o.data,
    ...(o.copyUp ? ['tmpcopyup'] : []),
  ];
  return words.length > 0 ? ` [${words.join(',')}]` : '';
}

function opLine(op: RootfsOp): string {
  switch (op.op) {
    case 'propagation':
      return `propagation / ${op.name}`;
    case 'bindRoot':
      return `bind-root ${op.path}`;
    case 'mount':
      return op.kind === 'bind'
        ? `bind ${op.source} -> ${op.destination}${optionWords(op.options)}`
        : `mount ${op.fstype}${op.source ? ` (${op.source})` : ''} -> ${op.destination}${optionWords(op.options)}`;
    case 'setattr':
      return `setattr ${op.destination} [${attrNames(op.attrSet, op.attrClr & ~MOUNT_ATTR._ATIME).join(',')}]`;
    case 'mknod':
      return `mknod ${op.path} ${op.type} ${op.major}:${op.minor} mode=${op.mode.toString(8).padStart(4, '0')} uid=${op.uid} gid=${op.gid}`;
    case 'bindDevice':
      return `bind-device ${op.path}`;
    case 'symlink':
      return `symlink ${op.path} -> ${op.target}`;
    case 'console':
      return 'console /dev/console <- the terminal fd';
    case 'pivotRoot':
      return 'pivot_root';
    case 'moveRoot':
      return 'move-root (MS_MOVE + chroot)';
    case 'sysctl':
      return `sysctl ${op.key}=${op.value}`;
    case 'readonlyPath':
      return `readonly ${op.path}`;
    case 'maskPath':
      return `mask ${op.path}`;
    case 'readonlyRoot':
      return 'readonly-root';
  }
}

/** The plan as stable, human-readable lines (for `ctr plan`). */
export function formatRootfsPlan(plan: RootfsPlan): string[] {
  return plan.ops.map(opLine);
}
