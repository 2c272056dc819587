/**
 * A throwaway private certificate authority for the TLS tests (Redis and MongoDB): a CA, a server
 * certificate it signed for `localhost` and `127.0.0.1`, and a client certificate for mutual TLS,
 * made with `openssl` in a temporary folder that {@link PrivateCa.remove} deletes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Files of a {@link privateCa}, all PEM. */
export interface PrivateCa {
  dir: string;
  /** The CA certificate (what clients trust: `tlsCAFile`, `ca`). */
  caFile: string;
  /** Server certificate (subject alternative names `localhost`, `127.0.0.1`) and its key. */
  serverCert: string;
  serverKey: string;
  /** Client certificate and key in one file (`tlsCertificateKeyFile`), for mutual TLS. */
  clientPem: string;
  /** The CA certificate's bytes. */
  ca: Buffer;
  remove(): void;
}

/** Makes a CA and certificates valid for one day. */
export function privateCa(): PrivateCa {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  };
  const key = (name: string): void => openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=sluice-test-${name}`);
  const sign = (name: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=sluice-test-ca');
  key('server');
  sign('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  key('client');
  sign('client', 'extendedKeyUsage=clientAuth\n');
  writeFileSync(join(dir, 'client.pem'), readFileSync(join(dir, 'client.crt'), 'utf8') + readFileSync(join(dir, 'client.key'), 'utf8'));
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    clientPem: join(dir, 'client.pem'),
    ca: readFileSync(join(dir, 'ca.crt')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
