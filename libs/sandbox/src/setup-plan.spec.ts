import { fstabEscape, hostsFile, READY_TOKEN, setupScript } from './setup-plan';
import type { HostTools } from './host-tools';

describe('fstabEscape', () => {
  it('escapes the characters that separate fstab fields, as libmount unescapes them', () => {
    expect(fstabEscape('/tmp/my root\\x\tdir\nend')).toBe('/tmp/my\\040root\\134x\\011dir\\012end');
  });
});

describe('hostsFile', () => {
  it('has Docker\'s localhost entries and the sandbox hostname on 127.0.0.1', () => {
    const lines = hostsFile('abc123').split('\n');
    expect(lines[0]).toBe('127.0.0.1\tlocalhost');
    expect(lines[1]).toBe('::1\tlocalhost ip6-localhost ip6-loopback');
    expect(lines).toContain('127.0.0.1\tabc123');
  });
});

describe('setupScript', () => {
  it('quotes tool paths and ends by exec-ing the command line after the ready token', () => {
    const tools = Object.fromEntries(
      ['sh', 'unshare', 'setpriv', 'mount', 'cp', 'env', 'touch', 'mkfifo', 'hostname', 'ip'].map((name) => [name, `/opt/it's/${name}`]),
    ) as unknown as HostTools;
    const script = setupScript(tools);
    expect(script).toContain(`'/opt/it'\\''s/mount' -n --fstab "$1" -a`);
    expect(script.indexOf(`echo ${READY_TOKEN}`)).toBeLessThan(script.indexOf('exec "$@"'));
    expect(script.trimEnd().endsWith('exec "$@"')).toBe(true);
  });
});
