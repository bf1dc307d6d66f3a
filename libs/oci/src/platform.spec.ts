import { describe, expect, it } from 'vitest';
import { formatPlatform, InvalidPlatformError, normalizePlatform, parsePlatform, platformMatches } from './platform';

describe('normalizePlatform', () => {
  it.each([
    [{ os: 'linux', architecture: 'x86_64' }, { os: 'linux', architecture: 'amd64' }],
    [{ os: 'Linux', architecture: 'AMD64', variant: 'v1' }, { os: 'linux', architecture: 'amd64' }],
    [{ os: 'linux', architecture: 'amd64', variant: 'v3' }, { os: 'linux', architecture: 'amd64', variant: 'v3' }],
    [{ os: 'linux', architecture: 'aarch64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    [{ os: 'linux', architecture: 'arm64', variant: '8' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }],
    [{ os: 'linux', architecture: 'arm64', variant: 'v9.0' }, { os: 'linux', architecture: 'arm64', variant: 'v9' }],
    [{ os: 'linux', architecture: 'arm' }, { os: 'linux', architecture: 'arm', variant: 'v7' }],
    [{ os: 'linux', architecture: 'arm', variant: '6' }, { os: 'linux', architecture: 'arm', variant: 'v6' }],
    [{ os: 'linux', architecture: 'armhf' }, { os: 'linux', architecture: 'arm', variant: 'v7' }],
    [{ os: 'linux', architecture: 'armel' }, { os: 'linux', architecture: 'arm', variant: 'v6' }],
    [{ os: 'linux', architecture: 'i386' }, { os: 'linux', architecture: '386' }],
    [{ os: 'macos', architecture: 'arm64' }, { os: 'darwin', architecture: 'arm64', variant: 'v8' }],
    [
      { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' },
      { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' },
    ],
  ])('%j', (input, expected) => {
    expect(normalizePlatform(input)).toEqual(expected);
  });
});

describe('parsePlatform / formatPlatform', () => {
  const host = { os: 'linux', architecture: 'amd64' };
  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/arm/v7', 'linux/arm/v7'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['linux/arm64', 'linux/arm64/v8'],
    ['linux/aarch64', 'linux/arm64/v8'],
    ['linux/x86_64', 'linux/amd64'],
    ['windows/amd64', 'windows/amd64'],
    ['linux', 'linux/amd64'],
    ['arm64', 'linux/arm64/v8'],
  ])('%s → %s', (input, formatted) => {
    expect(formatPlatform(parsePlatform(input, host))).toBe(formatted);
  });

  it.each(['', 'linux/', 'linux/amd64/v1/extra', 'linux/am d64', 'plan10'])('refuses %j', (input) => {
    expect(() => parsePlatform(input, host)).toThrow(InvalidPlatformError);
  });
});

describe('platformMatches', () => {
  it.each([
    [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'x86_64' }, true],
    [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm64', variant: 'v8' }, true],
    [{ os: 'linux', architecture: 'arm64', variant: 'v8' }, { os: 'linux', architecture: 'aarch64' }, true],
    [{ os: 'linux', architecture: 'arm' }, { os: 'linux', architecture: 'arm', variant: 'v7' }, true],
    [{ os: 'linux', architecture: 'arm', variant: 'v7' }, { os: 'linux', architecture: 'arm', variant: 'v6' }, false],
    [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }, false],
    [{ os: 'linux', architecture: 'amd64' }, { os: 'windows', architecture: 'amd64' }, false],
    [
      { os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1' },
      { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.1' },
      false,
    ],
    [{ os: 'windows', architecture: 'amd64' }, { os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.1' }, true],
  ])('%j vs %j → %s', (want, have, expected) => {
    expect(platformMatches(want, have)).toBe(expected);
  });
});
