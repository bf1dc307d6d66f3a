import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..', '..', '..');
const composeFile = path.join(root, 'docker-compose.yml');

interface ComposeRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

// Only the file under test decides the configuration: no inherited overrides or .env lookups.
const COMPOSE_OVERRIDES = /^(COMPOSE_|DOCKER_|POSTGRES_|MINIO_|MC_IMAGE$|CARGOHOLD_)/;

function compose(...args: string[]): ComposeRun {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !COMPOSE_OVERRIDES.test(key)));
  const run = spawnSync('docker-compose', ['-f', composeFile, '--project-directory', root, ...args], { cwd: root, env, encoding: 'utf8' });
  if (run.error) throw new Error(`could not run docker-compose (apt-get install docker-compose): ${run.error.message}`);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface YamlNode {
  value?: string;
  children: Map<string, YamlNode>;
}

/**
 * Reads the block-style YAML that `docker-compose config` prints into nested mapping keys with
 * their inline scalars. List items and multi-line scalars are skipped: the assertions below
 * only need mappings. (No YAML parser is among the project's dependencies.)
 */
function readComposeYaml(text: string): YamlNode {
  const top: YamlNode = { children: new Map() };
  const stack: { indent: number; node: YamlNode }[] = [{ indent: -1, node: top }];
  let inlineIndent = Number.POSITIVE_INFINITY; // indent of the last line that carried a value
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const indent = line.length - line.trimStart().length;
    if (indent > inlineIndent) continue; // continuation of a value, or the inside of a list item
    const item = /^\s*- /.test(line);
    const key = item ? null : /^\s*([^\s:'"-][^:]*?|'[^']*'|"[^"]*"):(?:\s+(.*))?$/.exec(line);
    inlineIndent = item || (key && key[2] !== undefined) ? indent : Number.POSITIVE_INFINITY;
    if (!key) continue;
    while (stack[stack.length - 1].indent >= indent) stack.pop();
    const node: YamlNode = { value: key[2]?.replace(/^'(.*)'$|^"(.*)"$/, '$1$2'), children: new Map() };
    stack[stack.length - 1].node.children.set(key[1].replace(/^['"]|['"]$/g, ''), node);
    stack.push({ indent, node });
  }
  return top;
}

function at(node: YamlNode | undefined, ...keys: string[]): YamlNode | undefined {
  return keys.reduce<YamlNode | undefined>((current, key) => current?.children.get(key), node);
}

describe('docker-compose.yml', () => {
  it('is valid for docker-compose (config -q exits 0)', () => {
    const run = compose('config', '-q');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  describe('resolved configuration', () => {
    let services: YamlNode | undefined;
    beforeAll(() => {
      const run = compose('config');
      expect(run.status, run.stderr).toBe(0);
      services = at(readComposeYaml(run.stdout), 'services');
    });

    it('declares the backing services, the bucket bootstrap and the four cargohold services', () => {
      expect([...(services?.children.keys() ?? [])].sort()).toEqual(['builder', 'gateway', 'gc', 'minio', 'minio-init', 'postgres', 'puller', 'redis']);
    });

    it('starts the gateway only after redis, postgres and minio are healthy and the bucket exists', () => {
      const dependsOn = at(services, 'gateway', 'depends_on');
      expect(at(dependsOn, 'redis', 'condition')?.value).toBe('service_healthy');
      expect(at(dependsOn, 'postgres', 'condition')?.value).toBe('service_healthy');
      expect(at(dependsOn, 'minio', 'condition')?.value).toBe('service_healthy');
      expect(at(dependsOn, 'minio-init', 'condition')?.value).toBe('service_completed_successfully');
      for (const dependency of ['redis', 'postgres', 'minio', 'gateway']) {
        expect(at(services, dependency, 'healthcheck', 'test'), `${dependency} has a healthcheck`).toBeDefined();
      }
    });

    it('starts every worker after a healthy gateway, with two builders', () => {
      for (const worker of ['builder', 'puller', 'gc']) {
        expect(at(services, worker, 'depends_on', 'gateway', 'condition')?.value).toBe('service_healthy');
      }
      expect(at(services, 'builder', 'deploy', 'replicas')?.value).toBe('2');
    });

    it('points every cargohold service at the same postgres, redis and S3 bucket', () => {
      const settings = ['CARGOHOLD_BLOB_DRIVER', 'CARGOHOLD_S3_ENDPOINT', 'CARGOHOLD_S3_BUCKET', 'REDIS_URL', 'DATABASE_URL'];
      const envOf = (service: string): Record<string, string | undefined> =>
        Object.fromEntries(settings.map((name) => [name, at(services, service, 'environment', name)?.value]));
      const gateway = envOf('gateway');
      expect(gateway.CARGOHOLD_BLOB_DRIVER).toBe('s3');
      expect(gateway.CARGOHOLD_S3_ENDPOINT).toBe('http://minio:9000');
      expect(gateway.REDIS_URL).toBe('redis://redis:6379');
      expect(gateway.DATABASE_URL).toMatch(/^postgres:\/\/[^@]+@postgres:5432\/cargohold$/);
      for (const worker of ['builder', 'puller', 'gc']) expect(envOf(worker)).toEqual(gateway);
      expect(at(services, 'minio-init', 'environment', 'CARGOHOLD_S3_BUCKET')?.value).toBe(gateway.CARGOHOLD_S3_BUCKET);
    });

    it('turns authentication on for every cargohold service, with an admin token of the required length', () => {
      for (const service of ['gateway', 'builder', 'puller', 'gc']) {
        expect(at(services, service, 'environment', 'CARGOHOLD_AUTH')?.value).toBe('on');
        expect(at(services, service, 'environment', 'CARGOHOLD_ADMIN_TOKEN')?.value?.length ?? 0).toBeGreaterThanOrEqual(32);
      }
    });

    it('builds each cargohold service from its own target of infra/Dockerfile', () => {
      for (const service of ['gateway', 'builder', 'puller', 'gc']) {
        expect(at(services, service, 'build', 'dockerfile')?.value).toBe('infra/Dockerfile');
        expect(at(services, service, 'build', 'target')?.value).toBe(service);
      }
    });
  });
});
