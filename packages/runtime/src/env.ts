/**
 * A runtime-spec `env` list ("KEY=VALUE") as the record child_process and
 * process.execve take; an entry without a name is dropped, as execve's callers do.
 */
export function envRecord(entries: readonly string[] = []): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}
