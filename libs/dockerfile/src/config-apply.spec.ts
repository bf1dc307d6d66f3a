import type { ContainerConfig } from '@cargohold/oci';
import {
  applyToConfig,
  ConfigApplyError,
  ConfigDispatchError,
  configEnvLookup,
  type ConfigInstruction,
  DEFAULT_SHELL,
  type DispatchState,
  isMetadataInstruction,
  parseConfigChanges,
  resolveWorkdir,
} from './config-apply';
import { DockerfileSyntaxError } from './errors';
import { EXPANDED_INSTRUCTIONS, expandInstruction } from './expand';
import type { Instruction } from './instructions';
import { parseDockerfile } from './parse';

function isConfigInstruction(inst: Instruction): inst is ConfigInstruction {
  return isMetadataInstruction(inst) || inst.kind === 'workdir';
}

/**
 * Runs a stage body (`FROM scratch` + lines) through applyToConfig, each instruction expanded
 * against the Env as it stands, the way a build does; returns the config and the last author.
 */
function dispatch(config: ContainerConfig, lines: string, state: DispatchState = { cmdSet: false }): { config: ContainerConfig; author?: string } {
  let result: { config: ContainerConfig; author?: string } = { config };
  for (const raw of parseDockerfile(`FROM scratch\n${lines}`).stages[0].instructions) {
    if (!isConfigInstruction(raw)) throw new Error(`${raw.kind} does not apply to the config`);
    const inst = EXPANDED_INSTRUCTIONS.has(raw.kind) ? expandInstruction(raw, configEnvLookup(result.config.Env)) : raw;
    const applied = applyToConfig(result.config, inst, state);
    result = { config: applied.config, author: applied.author ?? result.author };
  }
  return result;
}

const configOf = (config: ContainerConfig, lines: string): ContainerConfig => dispatch(config, lines).config;

function applyError(config: ContainerConfig, lines: string): ConfigApplyError {
  try {
    dispatch(config, lines);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigApplyError);
    return err as ConfigApplyError;
  }
  throw new Error(`expected ${lines} to be refused`);
}

describe('applyToConfig', () => {
  it('returns a new config and leaves the given one alone', () => {
    const config: ContainerConfig = { Env: ['A=1'], Cmd: ['sh'], Labels: { a: 'b' } };
    const next = configOf(config, 'ENV A=2\nLABEL c=d\nENTRYPOINT ["/x"]');
    expect(next).toEqual({ Env: ['A=2'], Labels: { a: 'b', c: 'd' }, Entrypoint: ['/x'] });
    expect(config).toEqual({ Env: ['A=1'], Cmd: ['sh'], Labels: { a: 'b' } });
  });

  describe('CMD and ENTRYPOINT', () => {
    it.each<[string, ContainerConfig, string, ContainerConfig]>([
      ['exec form as given', {}, 'CMD ["/bin/echo", "a  b"]', { Cmd: ['/bin/echo', 'a  b'] }],
      ['shell form behind /bin/sh -c, one string', {}, 'CMD echo "hi"   there', { Cmd: ['/bin/sh', '-c', 'echo "hi"   there'] }],
      ['shell form behind the config SHELL', { Shell: ['/bin/bash', '-euc'] }, 'CMD make', { Shell: ['/bin/bash', '-euc'], Cmd: ['/bin/bash', '-euc', 'make'] }],
      ['shell form behind a SHELL set earlier', {}, 'SHELL ["/bin/ash", "-c"]\nCMD make', { Shell: ['/bin/ash', '-c'], Cmd: ['/bin/ash', '-c', 'make'] }],
      ['an empty exec form literally', { Cmd: ['x'] }, 'CMD []', { Cmd: [] }],
      ['a bare CMD as the shell alone', {}, 'CMD', { Cmd: ['/bin/sh', '-c'] }],
      ['malformed JSON as the shell form', {}, 'CMD ["a", ', { Cmd: ['/bin/sh', '-c', '["a",'] }],
      ['CMD clearing ArgsEscaped', { ArgsEscaped: true }, 'CMD ["a"]', { Cmd: ['a'] }],
      ['ENTRYPOINT exec form, dropping the inherited CMD', { Cmd: ['sh'] }, 'ENTRYPOINT ["/app", "--serve"]', { Entrypoint: ['/app', '--serve'] }],
      ['ENTRYPOINT shell form', {}, 'ENTRYPOINT exec /app', { Entrypoint: ['/bin/sh', '-c', 'exec /app'] }],
      ['ENTRYPOINT clearing ArgsEscaped', { ArgsEscaped: true, Entrypoint: ['/y'] }, 'ENTRYPOINT ["/x"]', { Entrypoint: ['/x'] }],
      ['an empty exec ENTRYPOINT removing it', { Entrypoint: ['/x'] }, 'ENTRYPOINT []', {}],
      ['a bare ENTRYPOINT removing it', { Entrypoint: ['/x'], Cmd: ['y'] }, 'ENTRYPOINT', {}],
      ['ENTRYPOINT keeping a CMD set before it', {}, 'CMD ["--help"]\nENTRYPOINT ["/app"]', { Cmd: ['--help'], Entrypoint: ['/app'] }],
      ['CMD after ENTRYPOINT', {}, 'ENTRYPOINT ["/app"]\nCMD ["--help"]', { Cmd: ['--help'], Entrypoint: ['/app'] }],
      ['ENTRYPOINT dropping an empty CMD set before it (only a CMD with arguments counts)', {}, 'CMD []\nENTRYPOINT ["/app"]', { Entrypoint: ['/app'] }],
    ])('%s', (_name, config, lines, expected) => {
      expect(configOf(config, lines)).toEqual(expected);
    });

    it('remembers a CMD in the state it is given, across calls', () => {
      const state: DispatchState = { cmdSet: false };
      const withCmd = dispatch({}, 'CMD ["x"]', state).config;
      expect(state.cmdSet).toBe(true);
      expect(dispatch(withCmd, 'ENTRYPOINT ["/e"]', state).config).toEqual({ Cmd: ['x'], Entrypoint: ['/e'] });
    });

    it('uses /bin/sh -c by default', () => {
      expect(DEFAULT_SHELL).toEqual(['/bin/sh', '-c']);
    });
  });

  describe('ENV and LABEL', () => {
    it.each<[string, ContainerConfig, string, Partial<ContainerConfig>]>([
      ['quotes and escapes removed', {}, "ENV k=v k2=\"v 2\" k3=a\\ b k4='$HOME'", { Env: ['k=v', 'k2=v 2', 'k3=a b', 'k4=$HOME'] }],
      ['the legacy `ENV key value` form', {}, 'ENV GREETING hello   wide "world"', { Env: ['GREETING=hello   wide world'] }],
      ['a variable replaced in place, new ones appended', { Env: ['PATH=/bin', 'A=1'] }, 'ENV PATH=/usr/bin:$PATH B=2', { Env: ['PATH=/usr/bin:/bin', 'A=1', 'B=2'] }],
      ['expansion against the Env before the instruction', {}, 'ENV A=1 B=$A\nENV C=${A}x D=${UNSET:-dflt}', { Env: ['A=1', 'B=', 'C=1x', 'D=dflt'] }],
      ['labels added to the existing ones', { Labels: { keep: 'me' } }, 'LABEL a=1 "my key"="my value"\nLABEL version 1.0 beta', { Labels: { keep: 'me', a: '1', 'my key': 'my value', version: '1.0 beta' } }],
    ])('%s', (_name, config, lines, expected) => {
      expect(configOf(config, lines)).toMatchObject(expected);
    });
  });

  describe('EXPOSE', () => {
    it.each<[ContainerConfig, string, Record<string, unknown>]>([
      [{}, 'EXPOSE 80 53/udp 9000/TCP 132/sctp', { '80/tcp': {}, '53/udp': {}, '9000/tcp': {}, '132/sctp': {} }],
      [{}, 'EXPOSE 8000-8002/udp', { '8000/udp': {}, '8001/udp': {}, '8002/udp': {} }],
      [{}, 'EXPOSE 127.0.0.1:8080:80', { '80/tcp': {} }],
      [{ ExposedPorts: { '22/tcp': {} } }, 'EXPOSE 80', { '22/tcp': {}, '80/tcp': {} }],
      [{ Env: ['PORTS=80 443'] }, 'EXPOSE $PORTS', { '80/tcp': {}, '443/tcp': {} }],
    ])('%j + %s', (config, lines, ports) => {
      expect(configOf(config, lines).ExposedPorts).toEqual(ports);
    });

    it.each([
      ['EXPOSE 80/icmp', 'invalid proto: icmp'],
      ['EXPOSE http', 'invalid containerPort: http'],
      ['EXPOSE 70000', 'invalid containerPort: 70000'],
      ['EXPOSE 90-80', 'invalid containerPort: 90-80'],
      ['EXPOSE /tcp', 'no port specified: /tcp<empty>'],
      ['EXPOSE 1-2:80-90', 'invalid ranges specified for container and host Ports: 80-90 and 1-2'],
    ])('refuses %s as a ConfigApplyError', (lines, message) => {
      expect(applyError({}, lines).message).toBe(message);
    });
  });

  describe('VOLUME, USER, ONBUILD, STOPSIGNAL, SHELL', () => {
    it.each<[string, ContainerConfig, string, Partial<ContainerConfig>]>([
      ['a JSON array of volumes', {}, 'VOLUME ["/data", "/var/log app"]', { Volumes: { '/data': {}, '/var/log app': {} } }],
      ['volumes added to the existing ones', { Volumes: { '/old': {} } }, 'VOLUME /a /b', { Volumes: { '/old': {}, '/a': {}, '/b': {} } }],
      ['USER as written', {}, 'USER 1000:1000', { User: '1000:1000' }],
      ['USER expanded', { Env: ['APP_USER=app'] }, 'USER ${APP_USER}', { User: 'app' }],
      ['ONBUILD triggers appended as written', { OnBuild: ['RUN a'] }, 'ONBUILD RUN echo "$HOME"\nonbuild  ADD . /app', { OnBuild: ['RUN a', 'RUN echo "$HOME"', 'ADD . /app'] }],
      ['a signal name', {}, 'STOPSIGNAL SIGKILL', { StopSignal: 'SIGKILL' }],
      ['a signal in any case, without SIG', {}, 'STOPSIGNAL term', { StopSignal: 'term' }],
      ['a signal number', {}, 'STOPSIGNAL 9', { StopSignal: '9' }],
      ['a realtime signal', {}, 'STOPSIGNAL SIGRTMIN+3', { StopSignal: 'SIGRTMIN+3' }],
      ['an expanded signal', { Env: ['SIG=SIGQUIT'] }, 'STOPSIGNAL $SIG', { StopSignal: 'SIGQUIT' }],
      ['SHELL', {}, 'SHELL ["/bin/bash", "-c"]', { Shell: ['/bin/bash', '-c'] }],
    ])('%s', (_name, config, lines, expected) => {
      expect(configOf(config, lines)).toMatchObject(expected);
    });

    it.each([
      ['VOLUME $EMPTY', 'VOLUME specified can not be an empty string'],
      ['STOPSIGNAL SIGFOO', 'invalid signal: SIGFOO'],
      ['STOPSIGNAL 0', 'invalid signal: 0'],
      ['STOPSIGNAL $UNSET', 'invalid signal: '],
    ])('refuses %s', (lines, message) => {
      expect(applyError({ Env: ['EMPTY='] }, lines).message).toBe(message);
    });
  });

  describe('WORKDIR', () => {
    it.each<[ContainerConfig, string, string]>([
      [{ WorkingDir: '/old' }, 'WORKDIR /srv//app/./x/../', '/srv/app'],
      [{ WorkingDir: '/srv' }, 'WORKDIR app\nWORKDIR ../lib', '/srv/lib'],
      [{}, 'WORKDIR app', '/app'],
      [{ Env: ['BASE=/opt'] }, 'WORKDIR $BASE/tool', '/opt/tool'],
    ])('%j + %s → %s', (config, lines, workdir) => {
      expect(configOf(config, lines).WorkingDir).toBe(workdir);
    });

    it('refuses a path that expands to nothing', () => {
      expect(applyError({}, 'WORKDIR $UNSET').message).toBe('cannot normalize nothing');
    });
  });

  describe('HEALTHCHECK', () => {
    it.each<[string, Record<string, unknown>]>([
      ['HEALTHCHECK CMD curl -f http://localhost/', { Test: ['CMD-SHELL', 'curl -f http://localhost/'] }],
      ['HEALTHCHECK cmd ["/check", "-q"]', { Test: ['CMD', '/check', '-q'] }],
      ['HEALTHCHECK NONE', { Test: ['NONE'] }],
      [
        'HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=500ms --retries=3 CMD true',
        { Test: ['CMD-SHELL', 'true'], Interval: 30e9, Timeout: 90e9, StartPeriod: 1.5e9, StartInterval: 500e6, Retries: 3 },
      ],
      ['HEALTHCHECK --interval=0s --retries=0 CMD true', { Test: ['CMD-SHELL', 'true'] }],
    ])('%s', (lines, health) => {
      expect(configOf({ Healthcheck: { Test: ['CMD', 'old'], Retries: 9 } }, lines).Healthcheck).toEqual(health);
    });
  });

  describe('MAINTAINER and ARG', () => {
    it('returns MAINTAINER as the author, outside the config', () => {
      expect(dispatch({ User: 'u' }, 'MAINTAINER Jane <jane@example.com>')).toEqual({ config: { User: 'u' }, author: 'Jane <jane@example.com>' });
    });

    it('leaves the config alone for ARG', () => {
      expect(dispatch({ Env: ['A=1'] }, 'ARG B=2')).toEqual({ config: { Env: ['A=1'] } });
    });
  });

  it('keeps ConfigDispatchError as the same class', () => {
    expect(ConfigDispatchError).toBe(ConfigApplyError);
    expect(applyError({}, 'STOPSIGNAL nope')).toBeInstanceOf(ConfigDispatchError);
  });
});

describe('isMetadataInstruction', () => {
  it('is true for instructions that only change the config', () => {
    const insts = parseDockerfile('FROM a\nENV a=1\nLABEL a=1\nCMD x\nENTRYPOINT x\nEXPOSE 1\nVOLUME /v\nUSER u\nONBUILD RUN x\nSTOPSIGNAL 9\nHEALTHCHECK NONE\nSHELL ["sh"]\nMAINTAINER m\nARG a')
      .stages[0].instructions;
    expect(insts).toHaveLength(13);
    expect(insts.filter((inst) => !isMetadataInstruction(inst)).map((inst) => inst.kind)).toEqual([]);
  });

  it('is false for RUN, COPY, ADD and WORKDIR, which change the filesystem in a build', () => {
    const insts = parseDockerfile('FROM a\nRUN x\nCOPY a b\nADD a b\nWORKDIR /w').stages[0].instructions;
    expect(insts.map(isMetadataInstruction)).toEqual([false, false, false, false]);
  });
});

describe('resolveWorkdir', () => {
  it.each([
    ['', '/a', '/a'],
    ['', 'a', '/a'],
    ['/srv', 'app/', '/srv/app'],
    ['/srv', '../..', '/'],
    ['rel', 'x', '/rel/x'],
    ['/srv', '/abs/./y/..', '/abs'],
    ['/', '.', '/'],
  ])('%j + %j → %j', (current, requested, expected) => {
    expect(resolveWorkdir(current, requested)).toBe(expected);
  });

  it('refuses an empty path with dockerd\'s text', () => {
    expect(() => resolveWorkdir('/srv', '')).toThrow(new ConfigApplyError('cannot normalize nothing'));
  });
});

describe('configEnvLookup', () => {
  it('lets a later entry win, treats a bare name as empty and others as unset', () => {
    const lookup = configEnvLookup(['A=1', 'A=2', 'B', 'C=x=y']);
    expect([lookup('A'), lookup('B'), lookup('C'), lookup('D')]).toEqual(['2', '', 'x=y', undefined]);
    expect(configEnvLookup(null)('A')).toBeUndefined();
  });
});

describe('parseConfigChanges', () => {
  function refusal(changes: string[]): Error {
    try {
      parseConfigChanges(changes);
    } catch (err) {
      return err as Error;
    }
    throw new Error(`expected ${JSON.stringify(changes)} to be refused`);
  }

  it('parses nothing when there are no changes', () => {
    expect(parseConfigChanges([])).toEqual({ instructions: [], escape: '\\' });
  });

  it('parses the changes as the lines of one Dockerfile, unexpanded', () => {
    const { instructions, escape } = parseConfigChanges(['# a comment', '', 'ENV A=$B \\\n  C=2', 'USER app\nWORKDIR /home/app']);
    expect(escape).toBe('\\');
    expect(instructions.map((i) => i.kind)).toEqual(['env', 'user', 'workdir']);
    expect(instructions[0]).toMatchObject({ env: [{ key: 'A', value: '$B' }, { key: 'C', value: '2' }], line: 3 });
  });

  it('honours a leading escape directive and reports it', () => {
    const { instructions, escape } = parseConfigChanges(['# escape=`', 'ENV A=x` y B=c:\\dir `', 'C=1']);
    expect(escape).toBe('`');
    expect(instructions[0]).toMatchObject({ kind: 'env', env: [{ key: 'A', value: 'x` y' }, { key: 'B', value: 'c:\\dir' }, { key: 'C', value: '1' }] });
  });

  it.each(['RUN echo hi', 'run echo hi', 'FROM busybox', 'COPY . /', 'ADD . /', 'SHELL ["/bin/bash", "-c"]', 'MAINTAINER me', 'ARG B', 'BOGUS x'])(
    'refuses %s, naming the instruction as typed',
    (change) => {
      const err = refusal([change]);
      expect(err).toBeInstanceOf(ConfigApplyError);
      expect(err.message).toBe(`${change.split(' ')[0]} is not a valid change command`);
    },
  );

  it('checks every name before any instruction, as Docker 27 does', () => {
    expect(refusal(['ENV', 'ARG B']).message).toBe('ARG is not a valid change command');
  });

  it('reports line-level parse errors before names, without refusing them as changes', () => {
    const err = refusal(['RUN x', 'CMD ["a", 1]']);
    expect(err).toBeInstanceOf(DockerfileSyntaxError);
    expect((err as DockerfileSyntaxError).detail).toBe('when using JSON array syntax, arrays must be comprised of strings only');
  });

  it.each([
    [[''], 'file with no instructions'],
    [['# only a comment'], 'file with no instructions'],
    [['ENV'], 'ENV requires at least one argument'],
    [['USER'], 'USER requires exactly one argument'],
    [['VOLUME ["/a", " "]'], 'VOLUME specified can not be an empty string'],
    [['CMD --network=none echo'], 'unknown flag: --network'],
    [['HEALTHCHECK --interval=5 CMD x'], 'time: missing unit in duration "5"'],
    [['HEALTHCHECK --retries=1 --retries=2 CMD x'], 'duplicate flag specified: --retries'],
    [['ONBUILD ONBUILD RUN x'], 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed'],
    [['ONBUILD from busybox'], "FROM isn't allowed as an ONBUILD trigger"],
  ])('refuses %j: %s', (changes, detail) => {
    const err = refusal(changes);
    expect(err).toBeInstanceOf(DockerfileSyntaxError);
    expect((err as DockerfileSyntaxError).detail).toBe(detail);
  });

  it('records an ONBUILD trigger, heredoc bodies included, leaving BuildKit-only flags to the build that runs it', () => {
    const { instructions } = parseConfigChanges(['ONBUILD RUN <<EOF', 'echo hi', 'EOF', 'ONBUILD RUN --mount=type=cache,target=/c make']);
    expect(instructions).toMatchObject([
      { kind: 'onbuild', expression: 'RUN <<EOF\necho hi\nEOF', trigger: { kind: 'run' } },
      { kind: 'onbuild', expression: 'RUN --mount=type=cache,target=/c make', trigger: { kind: 'run' } },
    ]);
  });

  it('refuses an ONBUILD trigger that does not parse, as parseDockerfile does', () => {
    expect((refusal(['ONBUILD XYZZY bar']) as DockerfileSyntaxError).detail).toBe('unknown instruction: XYZZY');
  });
});
