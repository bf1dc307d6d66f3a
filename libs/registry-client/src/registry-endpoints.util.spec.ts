import { describe, expect, it } from 'vitest';
import { hostOf, isInsecureRegistry, isLoopbackHost, resolveEndpoints } from './registry-endpoints.util';
import { RegistryError } from './registry-errors';

describe('isLoopbackHost / hostOf', () => {
  it('recognises loopback names and addresses with or without port', () => {
    for (const host of ['127.0.0.1:5000', '127.9.9.9', 'localhost', 'localhost:5000', '[::1]:5000', '::1']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.1:5000', 'registry.example.com', '[2001:db8::1]:5000', 'localhost.example.com']) expect(isLoopbackHost(host)).toBe(false);
    expect(hostOf('[2001:db8::1]:443')).toBe('2001:db8::1');
    expect(hostOf('Registry.Example.com:5000')).toBe('registry.example.com');
  });
});

describe('isInsecureRegistry', () => {
  const list = ['myreg.local:5000', '10.20.0.0/16', 'fd00::/8', 'http://plain.example.com'];
  it('matches host[:port] exactly and IP addresses by CIDR', () => {
    expect(isInsecureRegistry('myreg.local:5000', list)).toBe(true);
    expect(isInsecureRegistry('myreg.local', list)).toBe(false);
    expect(isInsecureRegistry('10.20.3.4:5000', list)).toBe(true);
    expect(isInsecureRegistry('10.21.3.4:5000', list)).toBe(false);
    expect(isInsecureRegistry('[fd00::5]:5000', list)).toBe(true);
    expect(isInsecureRegistry('plain.example.com', list)).toBe(true);
  });
});

describe('resolveEndpoints', () => {
  it('uses plain HTTP for loopback, HTTPS then HTTP for insecure registries, HTTPS otherwise', () => {
    expect(resolveEndpoints('127.0.0.1:5000', {})).toEqual([{ baseUrl: 'http://127.0.0.1:5000', mirror: false }]);
    expect(resolveEndpoints('myreg.local:5000', { insecureRegistries: ['myreg.local:5000'] }).map((e) => e.baseUrl)).toEqual([
      'https://myreg.local:5000',
      'http://myreg.local:5000',
    ]);
    expect(resolveEndpoints('ghcr.io', {})).toEqual([{ baseUrl: 'https://ghcr.io', mirror: false }]);
  });

  it('gives docker.io its mirrors first, then the configured hub endpoint', () => {
    const endpoints = resolveEndpoints('docker.io', { mirrors: ['127.0.0.1:5001', 'https://mirror.example.com/'], dockerHubEndpoint: 'http://127.0.0.1:5002' });
    expect(endpoints).toEqual([
      { baseUrl: 'http://127.0.0.1:5001', mirror: true },
      { baseUrl: 'https://mirror.example.com', mirror: true },
      { baseUrl: 'http://127.0.0.1:5002', mirror: false },
    ]);
  });

  it('refuses docker.io without any configured endpoint, naming the setting', () => {
    expect(() => resolveEndpoints('docker.io', {})).toThrow(RegistryError);
    expect(() => resolveEndpoints('docker.io', {})).toThrow(/CARGOHOLD_DOCKER_HUB_URL/);
    expect(() => resolveEndpoints('a/b', {})).toThrow(/invalid registry domain/);
  });
});
