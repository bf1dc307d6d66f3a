import { describe, expect, it } from 'vitest';
import type { ContainerConfig } from '@cargohold/oci';
import { applyChanges } from './changes.util';
import { ImportChangeError } from './import.errors';

function refusal(changes: string[], config: ContainerConfig = {}): string {
  try {
    applyChanges(config, changes);
  } catch (err) {
    expect(err).toBeInstanceOf(ImportChangeError);
    return (err as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(changes)} to be refused`);
}

describe('applyChanges', () => {
  it('returns an equal copy when there are no changes, and never mutates its input', () => {
    const config: ContainerConfig = { Env: ['A=1'], Cmd: ['sh'] };
    const same = applyChanges(config, []);
    expect(same).toEqual(config);
    expect(same).not.toBe(config);
    const changed = applyChanges(config, ['ENV A=2', 'CMD ["top"]']);
    expect(changed).toEqual({ Env: ['A=2'], Cmd: ['top'] });
    expect(config).toEqual({ Env: ['A=1'], Cmd: ['sh'] });
  });

  describe('CMD', () => {
    it('keeps the exec form as given', () => {
      expect(applyChanges({}, ['CMD ["/bin/echo", "a  b"]'])).toEqual({ Cmd: ['/bin/echo', 'a  b'] });
    });

    it('runs the shell form through /bin/sh -c, as one string', () => {
      expect(applyChanges({}, ['CMD echo "hi"   there'])).toEqual({ Cmd: ['/bin/sh', '-c', 'echo "hi"   there'] });
    });

    it('uses the image SHELL for the shell form', () => {
      expect(applyChanges({ Shell: ['/bin/bash', '-euc'] }, ['CMD make']).Cmd).toEqual(['/bin/bash', '-euc', 'make']);
    });

    it('takes an empty JSON array literally and a bare CMD as the shell alone', () => {
      expect(applyChanges({ Cmd: ['x'] }, ['CMD []']).Cmd).toEqual([]);
      expect(applyChanges({}, ['CMD']).Cmd).toEqual(['/bin/sh', '-c']);
    });

    it('treats malformed JSON as the shell form', () => {
      expect(applyChanges({}, ['CMD ["a", ']).Cmd).toEqual(['/bin/sh', '-c', '["a",']);
    });

    it('refuses a JSON array of non-strings', () => {
      expect(refusal(['CMD ["a", 1]'])).toBe('when using JSON array syntax, arrays must be comprised of strings only');
    });

    it('clears ArgsEscaped', () => {
      expect(applyChanges({ ArgsEscaped: true }, ['CMD ["a"]'])).toEqual({ Cmd: ['a'] });
    });
  });

  describe('ENTRYPOINT', () => {
    it('sets the exec form and drops the inherited CMD', () => {
      expect(applyChanges({ Cmd: ['sh'] }, ['ENTRYPOINT ["/app", "--serve"]'])).toEqual({ Entrypoint: ['/app', '--serve'] });
    });

    it('runs the shell form through /bin/sh -c', () => {
      expect(applyChanges({}, ['ENTRYPOINT exec /app'])).toEqual({ Entrypoint: ['/bin/sh', '-c', 'exec /app'] });
    });

    it('keeps a CMD set earlier in the same changes', () => {
      expect(applyChanges({}, ['CMD ["--help"]', 'ENTRYPOINT ["/app"]'])).toEqual({ Cmd: ['--help'], Entrypoint: ['/app'] });
      expect(applyChanges({}, ['ENTRYPOINT ["/app"]', 'CMD ["--help"]'])).toEqual({ Cmd: ['--help'], Entrypoint: ['/app'] });
    });

    it('an empty ENTRYPOINT removes it', () => {
      expect(applyChanges({ Entrypoint: ['/x'] }, ['ENTRYPOINT []'])).toEqual({});
      expect(applyChanges({ Entrypoint: ['/x'] }, ['ENTRYPOINT'])).toEqual({});
    });
  });

  describe('ENV', () => {
    it('accepts key=value pairs with quotes and escapes', () => {
      expect(applyChanges({}, ['ENV k=v k2="v 2" k3=a\\ b k4=\'$HOME\'']).Env).toEqual(['k=v', 'k2=v 2', 'k3=a b', 'k4=$HOME']);
    });

    it('accepts the legacy `ENV key value with spaces` form', () => {
      expect(applyChanges({}, ['ENV GREETING hello   wide "world"']).Env).toEqual(['GREETING=hello   wide world']);
    });

    it('replaces an existing variable in place and appends new ones', () => {
      expect(applyChanges({ Env: ['PATH=/bin', 'A=1'] }, ['ENV PATH=/usr/bin:$PATH B=2']).Env).toEqual(['PATH=/usr/bin:/bin', 'A=1', 'B=2']);
    });

    it('expands against the environment before the instruction', () => {
      expect(applyChanges({}, ['ENV A=1 B=$A', 'ENV C=${A}x D=${UNSET:-dflt}']).Env).toEqual(['A=1', 'B=', 'C=1x', 'D=dflt']);
    });

    it('refuses what dockerd refuses, with its text', () => {
      expect(refusal(['ENV'])).toBe('ENV requires at least one argument');
      expect(refusal(['ENV lonely'])).toBe('ENV must have two arguments');
      expect(refusal(['ENV a=1 b'])).toBe('Syntax error - can\'t find = in "b". Must be of the form: name=value');
      expect(refusal(['ENV =x'])).toBe('ENV names can not be blank');
      expect(refusal(['ENV A=${B:-x'])).toBe('failed to process "${B:-x": syntax error: missing \'}\'');
      expect(refusal(['ENV A=${}'])).toBe('failed to process "${}": syntax error: bad substitution');
      expect(refusal(['ENV A="open'])).toBe('failed to process "\\"open": unexpected end of statement while looking for matching double-quote');
    });
  });

  describe('EXPOSE', () => {
    it('records ports with their protocol, tcp by default', () => {
      expect(applyChanges({}, ['EXPOSE 80 53/udp 9000/TCP 132/sctp']).ExposedPorts).toEqual({ '80/tcp': {}, '53/udp': {}, '9000/tcp': {}, '132/sctp': {} });
    });

    it('expands ranges and host:container mappings', () => {
      expect(applyChanges({}, ['EXPOSE 8000-8002/udp']).ExposedPorts).toEqual({ '8000/udp': {}, '8001/udp': {}, '8002/udp': {} });
      expect(applyChanges({}, ['EXPOSE 127.0.0.1:8080:80']).ExposedPorts).toEqual({ '80/tcp': {} });
    });

    it('adds to the ports already exposed', () => {
      expect(applyChanges({ ExposedPorts: { '22/tcp': {} } }, ['EXPOSE 80']).ExposedPorts).toEqual({ '22/tcp': {}, '80/tcp': {} });
    });

    it('splits an expanded variable into several ports', () => {
      expect(applyChanges({ Env: ['PORTS=80 443'] }, ['EXPOSE $PORTS']).ExposedPorts).toEqual({ '80/tcp': {}, '443/tcp': {} });
    });

    it('refuses bad ports and protocols', () => {
      expect(refusal(['EXPOSE'])).toBe('EXPOSE requires at least one argument');
      expect(refusal(['EXPOSE 80/icmp'])).toBe('invalid proto: icmp');
      expect(refusal(['EXPOSE http'])).toBe('invalid containerPort: http');
      expect(refusal(['EXPOSE 70000'])).toBe('invalid containerPort: 70000');
      expect(refusal(['EXPOSE 90-80'])).toBe('invalid containerPort: 90-80');
      expect(refusal(['EXPOSE /tcp'])).toBe('no port specified: /tcp<empty>');
      expect(refusal(['EXPOSE 1-2:80-90'])).toBe('invalid ranges specified for container and host Ports: 80-90 and 1-2');
    });
  });

  describe('ONBUILD', () => {
    it('stores the trigger as written', () => {
      expect(applyChanges({}, ['ONBUILD RUN echo "$HOME"', 'onbuild  ADD . /app']).OnBuild).toEqual(['RUN echo "$HOME"', 'ADD . /app']);
    });

    it('refuses chaining and FROM / MAINTAINER triggers', () => {
      expect(refusal(['ONBUILD'])).toBe('ONBUILD requires at least one argument');
      expect(refusal(['ONBUILD ONBUILD RUN x'])).toBe('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      expect(refusal(['ONBUILD from busybox'])).toBe('FROM isn\'t allowed as an ONBUILD trigger');
      expect(refusal(['ONBUILD MAINTAINER me'])).toBe('MAINTAINER isn\'t allowed as an ONBUILD trigger');
    });
  });

  describe('USER', () => {
    it('sets the user, expanding variables', () => {
      expect(applyChanges({}, ['USER 1000:1000']).User).toBe('1000:1000');
      expect(applyChanges({ Env: ['APP_USER=app'] }, ['USER ${APP_USER}']).User).toBe('app');
    });

    it('needs exactly one argument', () => {
      expect(refusal(['USER'])).toBe('USER requires exactly one argument');
    });
  });

  describe('VOLUME', () => {
    it('accepts a JSON array or a space-separated list', () => {
      expect(applyChanges({}, ['VOLUME ["/data", "/var/log app"]']).Volumes).toEqual({ '/data': {}, '/var/log app': {} });
      expect(applyChanges({ Volumes: { '/old': {} } }, ['VOLUME /a /b']).Volumes).toEqual({ '/old': {}, '/a': {}, '/b': {} });
    });

    it('refuses an empty volume', () => {
      expect(refusal(['VOLUME'])).toBe('VOLUME requires at least one argument');
      expect(refusal(['VOLUME ["/a", " "]'])).toBe('VOLUME specified can not be an empty string');
    });
  });

  describe('WORKDIR', () => {
    it('sets an absolute path, cleaned', () => {
      expect(applyChanges({ WorkingDir: '/old' }, ['WORKDIR /srv//app/./x/../']).WorkingDir).toBe('/srv/app');
    });

    it('joins a relative path with the previous working directory', () => {
      expect(applyChanges({ WorkingDir: '/srv' }, ['WORKDIR app', 'WORKDIR ../lib']).WorkingDir).toBe('/srv/lib');
      expect(applyChanges({}, ['WORKDIR app']).WorkingDir).toBe('/app');
    });

    it('expands variables', () => {
      expect(applyChanges({ Env: ['BASE=/opt'] }, ['WORKDIR $BASE/tool']).WorkingDir).toBe('/opt/tool');
    });

    it('needs exactly one argument', () => {
      expect(refusal(['WORKDIR'])).toBe('WORKDIR requires exactly one argument');
    });
  });

  describe('LABEL', () => {
    it('sets labels, quoted keys and values included', () => {
      expect(applyChanges({ Labels: { keep: 'me' } }, ['LABEL a=1 "my key"="my value"', 'LABEL version 1.0 beta']).Labels).toEqual({
        keep: 'me',
        a: '1',
        'my key': 'my value',
        version: '1.0 beta',
      });
    });
  });

  describe('STOPSIGNAL', () => {
    it('accepts signal names (any case, SIG optional) and numbers, stored as written', () => {
      expect(applyChanges({}, ['STOPSIGNAL SIGKILL']).StopSignal).toBe('SIGKILL');
      expect(applyChanges({}, ['STOPSIGNAL term']).StopSignal).toBe('term');
      expect(applyChanges({}, ['STOPSIGNAL 9']).StopSignal).toBe('9');
      expect(applyChanges({}, ['STOPSIGNAL SIGRTMIN+3']).StopSignal).toBe('SIGRTMIN+3');
    });

    it('refuses unknown signals', () => {
      expect(refusal(['STOPSIGNAL SIGFOO'])).toBe('invalid signal: SIGFOO');
      expect(refusal(['STOPSIGNAL 0'])).toBe('invalid signal: 0');
      expect(refusal(['STOPSIGNAL'])).toBe('STOPSIGNAL requires exactly one argument');
    });
  });

  describe('HEALTHCHECK', () => {
    it('runs the shell form as CMD-SHELL and keeps the exec form as CMD', () => {
      expect(applyChanges({}, ['HEALTHCHECK CMD curl -f http://localhost/']).Healthcheck).toEqual({ Test: ['CMD-SHELL', 'curl -f http://localhost/'] });
      expect(applyChanges({}, ['HEALTHCHECK cmd ["/check", "-q"]']).Healthcheck).toEqual({ Test: ['CMD', '/check', '-q'] });
    });

    it('reads the timing flags as nanoseconds', () => {
      expect(applyChanges({}, ['HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=500ms --retries=3 CMD true']).Healthcheck).toEqual({
        Test: ['CMD-SHELL', 'true'],
        Interval: 30e9,
        Timeout: 90e9,
        StartPeriod: 1.5e9,
        StartInterval: 500e6,
        Retries: 3,
      });
    });

    it('NONE disables the healthcheck', () => {
      expect(applyChanges({}, ['HEALTHCHECK NONE']).Healthcheck).toEqual({ Test: ['NONE'] });
      expect(refusal(['HEALTHCHECK NONE now'])).toBe('HEALTHCHECK NONE takes no arguments');
    });

    it('refuses bad types and flags', () => {
      expect(refusal(['HEALTHCHECK'])).toBe('HEALTHCHECK requires at least one argument');
      expect(refusal(['HEALTHCHECK RUN x'])).toBe('Unknown type "RUN" in HEALTHCHECK (try CMD)');
      expect(refusal(['HEALTHCHECK CMD'])).toBe('Missing command after HEALTHCHECK CMD');
      expect(refusal(['HEALTHCHECK --interval=5 CMD x'])).toBe('time: missing unit in duration "5"');
      expect(refusal(['HEALTHCHECK --interval=10us CMD x'])).toBe('Interval "interval" cannot be less than 1ms');
      expect(refusal(['HEALTHCHECK --retries=-1 CMD x'])).toBe('--retries cannot be negative (-1)');
      expect(refusal(['HEALTHCHECK --retries=x CMD x'])).toBe('strconv.ParseInt: parsing "x": invalid syntax');
      expect(refusal(['HEALTHCHECK --every=5s CMD x'])).toBe('unknown flag: --every');
      expect(refusal(['HEALTHCHECK --interval CMD x'])).toBe('missing a value on flag: --interval');
      expect(refusal(['HEALTHCHECK --retries=1 --retries=2 CMD x'])).toBe('duplicate flag specified: --retries');
    });
  });

  describe('instructions a change may not use', () => {
    it('refuses them with dockerd\'s text, naming the instruction as typed', () => {
      expect(refusal(['RUN echo hi'])).toBe('RUN is not a valid change command');
      expect(refusal(['run echo hi'])).toBe('run is not a valid change command');
      expect(refusal(['FROM busybox'])).toBe('FROM is not a valid change command');
      expect(refusal(['COPY . /'])).toBe('COPY is not a valid change command');
      expect(refusal(['SHELL ["/bin/bash", "-c"]'])).toBe('SHELL is not a valid change command');
      expect(refusal(['MAINTAINER me'])).toBe('MAINTAINER is not a valid change command');
      expect(refusal(['BOGUS x'])).toBe('BOGUS is not a valid change command');
    });

    it('checks every change before applying any', () => {
      expect(refusal(['ENV A=1', 'ARG B'])).toBe('ARG is not a valid change command');
      // Parse errors anywhere come first, as dockerd parses the changes as one file.
      expect(refusal(['RUN x', 'CMD ["a", 1]'])).toBe('when using JSON array syntax, arrays must be comprised of strings only');
    });

    it('refuses flags an instruction does not take', () => {
      expect(refusal(['CMD --network=none echo'])).toBe('unknown flag: --network');
    });
  });

  describe('Dockerfile syntax', () => {
    it('joins continuation lines and skips comments and blank lines', () => {
      expect(applyChanges({}, ['# a comment', '', 'ENV A=1 \\\n  B=2', 'ENV C=3 \\\n# inside\n  D=4']).Env).toEqual(['A=1', 'B=2', 'C=3', 'D=4']);
    });

    it('splits one change holding several lines into several instructions', () => {
      expect(applyChanges({}, ['USER app\nWORKDIR /home/app'])).toEqual({ User: 'app', WorkingDir: '/home/app' });
    });

    it('honours a leading escape directive', () => {
      expect(applyChanges({}, ['# escape=`', 'ENV A=x` y B=c:\\dir `', 'C=1']).Env).toEqual(['A=x y', 'B=c:\\dir', 'C=1']);
    });

    it('refuses a change set with no instruction', () => {
      expect(refusal([''])).toBe('file with no instructions');
      expect(refusal(['# only a comment'])).toBe('file with no instructions');
    });
  });
});
