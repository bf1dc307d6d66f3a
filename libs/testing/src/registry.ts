import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findExecutable, OutputTail, terminate, tether } from './child-process.util';
import { freePort } from './free-port.util';
import { createTokenSigningCert, writeHtpasswd } from './registry-credentials.util';
import type { StartRegistryOptions, TestRegistry } from './registry-harness.types';
import type { TokenServerHandle } from './registry-token-server';
import { startTokenServer } from './registry-token-server';

const START_TIMEOUT_MS = 15_000;
const TOKEN_SERVICE = 'cargohold-test-registry';
const TOKEN_ISSUER = 'cargohold-test-issuer';

/** docker-registry's config: JSON strings are valid YAML scalars, so values are written with JSON.stringify. */
function registryConfig(opts: { dataDir: string; port: number; auth: string[] }): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(opts.dataDir)}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${JSON.stringify(`127.0.0.1:${opts.port}`)}`,
    `  secret: ${JSON.stringify(randomBytes(16).toString('hex'))}`,
    ...opts.auth,
    '',
  ].join('\n');
}

/**
 * Runs a throwaway Debian `docker-registry` (CNCF distribution 2.8) on a free loopback port,
 * with no auth, htpasswd Basic auth, or token auth backed by an in-process token server.
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  if (!findExecutable('docker-registry')) throw new Error('docker-registry is missing: apt-get install -y docker-registry');
  const auth = options.auth ?? 'none';
  const users = options.users ?? { alice: 'wonderland' };
  const root = await mkdtemp(path.join(os.tmpdir(), 'cargohold-registry-'));
  let tokenServer: TokenServerHandle | undefined;
  try {
    const authLines: string[] = [];
    if (auth === 'htpasswd') {
      const file = path.join(root, 'htpasswd');
      await writeHtpasswd(file, users);
      authLines.push('auth:', '  htpasswd:', '    realm: "cargohold-test-registry"', `    path: ${JSON.stringify(file)}`);
    } else if (auth === 'token') {
      const cert = await createTokenSigningCert(root);
      tokenServer = await startTokenServer({
        users,
        anonymous: options.anonymous,
        policy: options.tokenPolicy,
        service: TOKEN_SERVICE,
        issuer: TOKEN_ISSUER,
        signingKey: cert.privateKey,
        certDerBase64: cert.certDerBase64,
        expiresIn: options.tokenExpiresIn,
      });
      authLines.push(
        'auth:',
        '  token:',
        `    realm: ${JSON.stringify(tokenServer.realm)}`,
        `    service: ${JSON.stringify(TOKEN_SERVICE)}`,
        `    issuer: ${JSON.stringify(TOKEN_ISSUER)}`,
        `    rootcertbundle: ${JSON.stringify(cert.certFile)}`,
      );
    }
    let lastError: unknown;
    // A port found free can be taken before the registry binds it: try a few.
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return await launch(root, await freePort(), authLines, { auth, users, tokenServer });
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  } catch (error) {
    await tokenServer?.stop();
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

async function launch(
  root: string,
  port: number,
  authLines: string[],
  meta: Pick<TestRegistry, 'auth' | 'users' | 'tokenServer'>,
): Promise<TestRegistry> {
  const dataDir = path.join(root, 'data');
  const configFile = path.join(root, 'config.yml');
  await writeFile(configFile, registryConfig({ dataDir, port, auth: authLines }));
  const logs = new OutputTail(512 * 1024);
  const child = spawn('docker-registry', ['serve', configFile], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8').on('data', (text: string) => logs.append(text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => logs.append(text));
  child.on('error', (error) => logs.append(`\n[testing] ${error.message}\n`));
  const dismissTether = tether({ group: child.pid, paths: [root] });
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await terminate(child, 5_000);
      await meta.tokenServer?.stop();
      await rm(root, { recursive: true, force: true, maxRetries: 3 });
      dismissTether();
    })());
  const stopProcessOnly = async (): Promise<void> => {
    await terminate(child, 5_000);
    dismissTether();
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stopProcessOnly();
      throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}) before answering on ${host}:\n${logs.toString()}`);
    }
    try {
      const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      break;
    } catch {
      if (Date.now() > deadline) {
        await stopProcessOnly();
        throw new Error(`docker-registry did not answer on ${host} within ${START_TIMEOUT_MS} ms:\n${logs.toString()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return { url, host, ...meta, rootDir: dataDir, configFile, stop, stopServer: stopProcessOnly, logs: () => logs.toString() };
}

export * from './registry-harness.types';
export type { TokenAccessPolicy, TokenGrant, TokenRequestRecord, TokenServerHandle } from './registry-token-server';
export type { RegistryLogin, RegistryTarget } from './registry-request.util';
export * from './registry-push';
export * from './registry-proxy';
