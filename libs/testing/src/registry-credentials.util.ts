import { execFile } from 'node:child_process';
import type { KeyObject } from 'node:crypto';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from './child-process.util';

const execFileAsync = promisify(execFile);

export interface TokenSigningCert {
  keyFile: string;
  /** PEM the registry trusts (`auth.token.rootcertbundle`). */
  certFile: string;
  privateKey: KeyObject;
  /** Base64 DER of the certificate, for the JWT `x5c` header. */
  certDerBase64: string;
}

/**
 * An RSA key and a self-signed certificate for it, made with the `openssl` CLI (Node cannot
 * issue certificates). The registry verifies token signatures against this certificate.
 */
export async function createTokenSigningCert(dir: string): Promise<TokenSigningCert> {
  if (!findExecutable('openssl')) throw new Error('openssl is missing: apt-get install -y openssl');
  const keyFile = path.join(dir, 'token-signing.key');
  const certFile = path.join(dir, 'token-signing.crt');
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
    '-subj', '/CN=cargohold-test-token-issuer', '-keyout', keyFile, '-out', certFile,
  ]);
  const [keyPem, certPem] = await Promise.all([readFile(keyFile), readFile(certFile)]);
  return { keyFile, certFile, privateKey: createPrivateKey(keyPem), certDerBase64: new X509Certificate(certPem).raw.toString('base64') };
}

/**
 * Writes an htpasswd file with bcrypt hashes (the only kind docker-registry accepts), using
 * `htpasswd` from apache2-utils, or Python's crypt module where that is missing.
 */
export async function writeHtpasswd(file: string, users: Record<string, string>): Promise<void> {
  const lines: string[] = [];
  for (const [user, password] of Object.entries(users)) {
    if (user.includes(':') || /\s/.test(user)) throw new Error(`htpasswd user names cannot contain ':' or spaces: ${JSON.stringify(user)}`);
    lines.push(`${user}:${await bcryptHash(password)}`);
  }
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}

async function bcryptHash(password: string): Promise<string> {
  if (findExecutable('htpasswd')) {
    // -i reads the password from stdin, keeping it off the process list; cost 5 keeps tests fast.
    const child = execFile('htpasswd', ['-niBC', '5', 'user'], { encoding: 'utf8' });
    const done = new Promise<string>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout?.on('data', (text: string) => (out += text));
      child.stderr?.on('data', (text: string) => (err += text));
      child.once('error', reject);
      child.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`htpasswd failed (${code}): ${err}`))));
    });
    child.stdin?.end(password);
    const line = (await done).trim();
    return line.slice(line.indexOf(':') + 1);
  }
  const python = findExecutable('python3');
  if (python) {
    const script = 'import crypt,sys; print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)))';
    try {
      const child = execFile(python, ['-W', 'ignore', '-c', script], { encoding: 'utf8' });
      const out = new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout?.on('data', (chunk: string) => (text += chunk));
        child.once('error', reject);
        child.once('close', (code) => (code === 0 ? resolve(text.trim()) : reject(new Error(`python3 crypt exited with ${code}`))));
      });
      child.stdin?.end(password);
      const hash = await out;
      if (hash.startsWith('$2')) return hash;
    } catch {
      // fall through to the message below
    }
  }
  throw new Error('no bcrypt tool for the registry htpasswd file: apt-get install -y apache2-utils (provides htpasswd)');
}
