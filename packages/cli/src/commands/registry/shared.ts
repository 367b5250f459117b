import { RegistryClient } from '@ctr/registry';

/** The flags every command that talks to a registry takes (containerd's ctr names them so). */
export const registryOptions = {
  'plain-http': { type: 'boolean' },
  'skip-verify': { type: 'boolean' },
  'certs-dir': { type: 'string', multiple: true },
} as const;

export const registryDetails = `--plain-http talks HTTP instead of HTTPS and --skip-verify accepts any TLS
certificate: both only on request. --certs-dir (repeatable) replaces the default
/etc/containers/certs.d and /etc/docker/certs.d, where <host>/ca.crt is a CA and
<host>/client.cert with client.key a client certificate. Credentials come from
$REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json or ~/.docker/config.json.`;

export function clientFrom(values: Record<string, unknown>): RegistryClient {
  const certsDir = values['certs-dir'] as string[] | undefined;
  return new RegistryClient({
    plainHttp: values['plain-http'] === true,
    skipVerify: values['skip-verify'] === true,
    ...(certsDir?.length ? { certsDir } : {}),
  });
}
