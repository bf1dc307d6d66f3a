import { describe, expect, it } from 'vitest';
import { ImageConfigError, parseImageConfig } from './image-config';

const D1 = `sha256:${'1'.repeat(64)}`;
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

const dockerConfig = {
  architecture: 'arm64',
  variant: 'v8',
  os: 'linux',
  created: '2024-05-01T10:00:00.123456789Z',
  author: 'someone',
  docker_version: '24.0.7',
  container_config: { Hostname: 'abc' },
  config: {
    User: '1000:1000',
    ExposedPorts: { '80/tcp': {} },
    Env: ['PATH=/usr/bin'],
    Entrypoint: ['/entry'],
    Cmd: null,
    Volumes: { '/data': {} },
    WorkingDir: '/app',
    Labels: { a: 'b' },
    StopSignal: 'SIGTERM',
    Healthcheck: { Test: ['CMD', 'true'], Interval: 30_000_000_000, Retries: 3 },
    OnBuild: null,
    Shell: ['/bin/sh', '-c'],
    ArgsEscaped: true,
    Hostname: '',
  },
  rootfs: { type: 'layers', diff_ids: [D1] },
  history: [{ created: '2024-05-01T10:00:00Z', created_by: '/bin/sh -c #(nop) ADD file', empty_layer: false }, { comment: 'x', empty_layer: true }],
};

describe('parseImageConfig', () => {
  it('parses a Docker config and keeps unknown fields', () => {
    const config = parseImageConfig(json(dockerConfig));
    expect(config.os).toBe('linux');
    expect(config.variant).toBe('v8');
    expect(config.config?.ExposedPorts).toEqual({ '80/tcp': {} });
    expect(config.config?.Healthcheck?.Retries).toBe(3);
    expect(config.config?.Cmd).toBeNull();
    expect(config.config?.Hostname).toBe('');
    expect(config.rootfs.diff_ids).toEqual([D1]);
    expect(config.history?.[1].empty_layer).toBe(true);
    expect(config.docker_version).toBe('24.0.7');
  });

  it('reads a lone string where Docker accepts one (strslice)', () => {
    expect(parseImageConfig(json({ ...dockerConfig, config: { Cmd: 'sh' } })).config?.Cmd).toEqual(['sh']);
  });

  it('accepts a config with no layers and no runtime config', () => {
    const config = parseImageConfig(json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: null } }));
    expect(config.rootfs.diff_ids).toEqual([]);
    expect(config.config).toBeUndefined();
  });

  it.each([
    [{ ...dockerConfig, rootfs: { type: 'layers', diff_ids: ['sha256:abc'] } }, /rootfs\.diff_ids\[0\]: invalid checksum digest length/],
    [{ ...dockerConfig, rootfs: { type: 'squash', diff_ids: [] } }, /rootfs\.type: must be "layers"/],
    [{ ...dockerConfig, rootfs: undefined }, /rootfs: /],
    [{ ...dockerConfig, os: undefined }, /^invalid image config: os: /],
    [{ ...dockerConfig, config: { Env: 'A=1' } }, /config\.Env/],
    [{ ...dockerConfig, history: [{ empty_layer: 'yes' }] }, /history\[0\]\.empty_layer/],
  ])('refuses %#', (body, message) => {
    expect(() => parseImageConfig(json(body))).toThrow(ImageConfigError);
    expect(() => parseImageConfig(json(body))).toThrow(message);
  });

  it('refuses what is not JSON', () => {
    expect(() => parseImageConfig(Buffer.from('nope'))).toThrow(/not valid JSON/);
    expect(() => parseImageConfig(Buffer.from('null'))).toThrow('invalid image config: expected a JSON object');
  });
});
