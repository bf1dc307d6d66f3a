import { ExpansionError } from './errors';
import { EXPANDED_INSTRUCTIONS, expandInstruction } from './expand';
import type { Instruction } from './instructions';
import { parseDockerfile } from './parse';
import { planBuild, resolveArgValue } from './plan';
import type { VariableLookup } from './shell-lex';

const vars: Record<string, string> = { NAME: 'app', DIR: '/srv', PORTS: '80 443', EMPTY: '', UID: '1000' };
const lookup: VariableLookup = (name) => vars[name];

function expandOne(line: string, escape = '\\'): Instruction {
  const df = parseDockerfile(`${escape === '`' ? '# escape=`\n' : ''}FROM scratch\n${line}`);
  return expandInstruction(df.stages[0].instructions[0], lookup, escape);
}

describe('EXPANDED_INSTRUCTIONS', () => {
  it('lists the instructions Docker substitutes variables in', () => {
    expect([...EXPANDED_INSTRUCTIONS].sort()).toEqual(['add', 'arg', 'copy', 'env', 'expose', 'from', 'label', 'stopsignal', 'user', 'volume', 'workdir']);
  });

  it.each(['run', 'cmd', 'entrypoint', 'shell', 'healthcheck', 'maintainer', 'onbuild'] as const)('does not include %s', (kind) => {
    expect(EXPANDED_INSTRUCTIONS.has(kind)).toBe(false);
  });
});

describe('expandInstruction', () => {
  it('expands ENV keys and values, removing quotes', () => {
    expect(expandOne('ENV A=$NAME B="hello world" C=\'$NAME\' D=a\\ b ${NAME}_HOME=$DIR')).toMatchObject({
      env: [
        { key: 'A', value: 'app' },
        { key: 'B', value: 'hello world' },
        { key: 'C', value: '$NAME' },
        { key: 'D', value: 'a b' },
        { key: 'app_HOME', value: '/srv' },
      ],
    });
  });

  it('expands the legacy ENV form as one word', () => {
    expect(expandOne('ENV GREETING hello $NAME')).toMatchObject({ env: [{ key: 'GREETING', value: 'hello app' }] });
  });

  it('expands LABEL keys and values', () => {
    expect(expandOne('LABEL "com.example.$NAME"="v ${UID}"')).toMatchObject({ labels: [{ key: 'com.example.app', value: 'v 1000' }] });
  });

  it('expands ARG names and defaults, keeping bare names bare', () => {
    expect(expandOne('ARG X=${DIR}/bin Y')).toMatchObject({ args: [{ key: 'X', value: '/srv/bin' }, { key: 'Y' }] });
  });

  it('expands COPY sources, destination, --chown and --chmod, not --from', () => {
    expect(expandOne('COPY --from=$NAME --chown=$UID:$UID --chmod=0${EMPTY}755 $NAME.conf "${DIR}/"')).toMatchObject({
      from: '$NAME',
      chown: '1000:1000',
      chmod: '0755',
      sources: ['app.conf'],
      dest: '/srv/',
    });
  });

  it('expands ADD like COPY', () => {
    expect(expandOne('ADD https://example.com/$NAME.tgz $DIR')).toMatchObject({ sources: ['https://example.com/app.tgz'], dest: '/srv' });
  });

  it('expands COPY heredoc bodies unless the delimiter was quoted', () => {
    expect(expandOne('COPY <<EOF <<"RAW" /etc/\nname=$NAME "q"\nEOF\nname=$NAME\nRAW')).toMatchObject({
      inlineSources: [
        { path: 'EOF', data: 'name=app "q"\n', expand: true },
        { path: 'RAW', data: 'name=$NAME\n', expand: false },
      ],
    });
  });

  it('expands VOLUME entries one by one', () => {
    expect(expandOne('VOLUME $DIR/data ${DIR}/logs')).toMatchObject({ volumes: ['/srv/data', '/srv/logs'] });
    expect(expandOne('VOLUME ["$DIR"]')).toMatchObject({ volumes: ['/srv'] });
    // Unlike EXPOSE, a variable holding spaces stays one volume (Docker splits before expanding).
    expect(expandOne('VOLUME $PORTS')).toMatchObject({ volumes: ['80 443'] });
    expect(expandOne('COPY $PORTS /x')).toMatchObject({ sources: ['80 443'] });
  });

  it('expands USER, WORKDIR and STOPSIGNAL', () => {
    expect(expandOne('USER ${NAME}:$UID')).toMatchObject({ user: 'app:1000' });
    expect(expandOne('WORKDIR "$DIR/my dir"')).toMatchObject({ path: '/srv/my dir' });
    expect(expandOne('STOPSIGNAL ${SIG:-SIGTERM}')).toMatchObject({ signal: 'SIGTERM' });
  });

  it('splits EXPOSE words after expansion', () => {
    expect(expandOne('EXPOSE $PORTS 8080/udp')).toMatchObject({ ports: ['80', '443', '8080/udp'] });
  });

  it('leaves RUN, CMD, ENTRYPOINT, HEALTHCHECK, ONBUILD and MAINTAINER alone', () => {
    for (const line of ['RUN echo $NAME', 'CMD ["$NAME"]', 'ENTRYPOINT $NAME', 'HEALTHCHECK CMD $NAME', 'ONBUILD RUN $NAME', 'MAINTAINER $NAME']) {
      const df = parseDockerfile(`FROM scratch\n${line}`);
      const inst = df.stages[0].instructions[0];
      expect(expandInstruction(inst, lookup)).toBe(inst);
    }
  });

  it('does not modify the parsed instruction', () => {
    const df = parseDockerfile('FROM scratch\nENV A=$NAME');
    expandInstruction(df.stages[0].instructions[0], lookup);
    expect(df.stages[0].instructions[0]).toMatchObject({ env: [{ key: 'A', value: '$NAME' }] });
  });

  it('uses the Dockerfile escape character', () => {
    expect(expandOne('WORKDIR C:\\Users\\$NAME', '`')).toMatchObject({ path: 'C:\\Users\\app' });
    expect(expandOne('ENV P=`$NAME', '`')).toMatchObject({ env: [{ key: 'P', value: '$NAME' }] });
  });

  it('throws Docker expansion errors', () => {
    const df = parseDockerfile('FROM scratch\nWORKDIR ${MISSING:?must be set}');
    expect(() => expandInstruction(df.stages[0].instructions[0], lookup)).toThrow(
      new ExpansionError('${MISSING:?must be set}', 'MISSING: must be set', 'failed to process "${MISSING:?must be set}": MISSING: must be set'),
    );
  });
});

describe('a builder-style walk through a stage', () => {
  it('scopes global ARGs to FROM unless re-declared', () => {
    const df = parseDockerfile(`ARG VERSION=1.2
FROM alpine:$VERSION
RUN echo before
WORKDIR /v$VERSION
ARG VERSION
WORKDIR /v$VERSION
ENV APP_VERSION=$VERSION
`);
    const plan = planBuild(df, { buildArgs: {} });
    expect(plan.target.baseImage).toBe('alpine:1.2');
    const env = new Map<string, string>();
    const args = new Map<string, string>();
    const scope: VariableLookup = (name) => env.get(name) ?? args.get(name);
    const workdirs: string[] = [];
    for (const raw of plan.target.stage.instructions) {
      const inst = expandInstruction(raw, scope, df.directives.escape);
      if (inst.kind === 'workdir') workdirs.push(inst.path);
      if (inst.kind === 'env') inst.env.forEach((kv) => env.set(kv.key, kv.value));
      if (inst.kind === 'arg') {
        for (const a of inst.args) {
          const value = resolveArgValue(plan, a.key, a.value);
          if (value !== undefined) args.set(a.key, value);
        }
      }
    }
    expect(workdirs).toEqual(['/v', '/v1.2']);
    expect(env.get('APP_VERSION')).toBe('1.2');
  });
});
