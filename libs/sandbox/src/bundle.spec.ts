import { hostsFile } from './bundle';

describe('hostsFile', () => {
  it('has Docker\'s localhost entries and the sandbox hostname on 127.0.0.1', () => {
    const lines = hostsFile('abc123').split('\n');
    expect(lines[0]).toBe('127.0.0.1\tlocalhost');
    expect(lines[1]).toBe('::1\tlocalhost ip6-localhost ip6-loopback');
    expect(lines).toContain('127.0.0.1\tabc123');
  });
});
