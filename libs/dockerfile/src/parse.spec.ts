import { DockerfileSyntaxError } from './errors';
import type { Instruction } from './instructions';
import { parseDockerfile, parseTrigger } from './parse';

/** The instructions of the single stage of `FROM scratch\n<body>`. */
function body(text: string): Instruction[] {
  return parseDockerfile(`FROM scratch\n${text}`).stages[0].instructions;
}

function only<K extends Instruction['kind']>(text: string, kind: K): Extract<Instruction, { kind: K }> {
  const insts = body(text);
  expect(insts).toHaveLength(1);
  expect(insts[0].kind).toBe(kind);
  return insts[0] as Extract<Instruction, { kind: K }>;
}

function syntaxError(text: string): DockerfileSyntaxError {
  try {
    parseDockerfile(text);
  } catch (err) {
    expect(err).toBeInstanceOf(DockerfileSyntaxError);
    return err as DockerfileSyntaxError;
  }
  throw new Error('expected a DockerfileSyntaxError');
}

const BUILDKIT = 'requires BuildKit. Refer to https://docs.docker.com/go/buildkit/ to learn how to build images with BuildKit enabled';

describe('parser directives', () => {
  it('defaults to the backslash escape and no syntax', () => {
    expect(parseDockerfile('FROM a').directives).toEqual({ escape: '\\' });
  });

  it('reads escape and syntax directives at the top', () => {
    const df = parseDockerfile('# syntax=docker/dockerfile:1\n# escape=`\nFROM a');
    expect(df.directives).toEqual({ escape: '`', syntax: 'docker/dockerfile:1' });
  });

  it('accepts spaces around = and any case in the key', () => {
    expect(parseDockerfile('#  ESCAPE = `  \nFROM a').directives.escape).toBe('`');
    expect(parseDockerfile('#escape=`\nFROM a').directives.escape).toBe('`');
  });

  it('ignores the check directive', () => {
    expect(parseDockerfile('# check=skip=all\nFROM a').directives).toEqual({ escape: '\\' });
  });

  it('continues lines with the backtick when it is the escape', () => {
    const run = parseDockerfile('# escape=`\nFROM a\nRUN echo `\n  hi').stages[0].instructions[0];
    expect(run).toMatchObject({ kind: 'run', args: ['echo   hi'], line: 3, endLine: 4 });
  });

  it('keeps a trailing backslash literal under the backtick escape (Windows paths)', () => {
    const run = parseDockerfile('# escape=`\nFROM a\nRUN dir c:\\\nRUN x').stages[0].instructions;
    expect(run.map((i) => i.original)).toEqual(['RUN dir c:\\', 'RUN x']);
  });

  it('ignores a directive after a comment (the directive is then just a comment)', () => {
    const df = parseDockerfile('# Comment here.\n# escape = `\n\nFROM image\nENV GOPATH \\\n\\go');
    expect(df.directives.escape).toBe('\\');
    expect(df.stages[0].instructions[0]).toMatchObject({ kind: 'env', env: [{ key: 'GOPATH', value: '\\go' }] });
  });

  it('ignores a directive after a blank line or an instruction', () => {
    expect(parseDockerfile('\n# escape=`\nFROM a').directives.escape).toBe('\\');
    expect(parseDockerfile('FROM a\n# escape=`\nRUN x').directives.escape).toBe('\\');
  });

  it('accepts directives without a blank line before the first instruction', () => {
    const df = parseDockerfile('# escape = `\n# no blank line\nFROM image\nENV GOPATH `\n\\go\n');
    expect(df.stages[0].instructions[0]).toMatchObject({ env: [{ key: 'GOPATH', value: '\\go' }] });
  });

  it('refuses a repeated directive', () => {
    const err = syntaxError('# escape=`\n# escape=\\\nFROM a');
    expect(err.line).toBe(2);
    expect(err.message).toBe('dockerfile parse error on line 2: only one escape parser directive can be used');
  });

  it('refuses an invalid escape token', () => {
    expect(syntaxError('# escape=x\nFROM a').detail).toBe("invalid escape token 'x' does not match ` or \\");
  });

  it('strips a UTF-8 byte order mark', () => {
    expect(parseDockerfile('\uFEFF# escape=`\nFROM a').directives.escape).toBe('`');
  });
});

describe('comments, blank lines and continuations', () => {
  it('skips comment lines, including indented ones', () => {
    const insts = body('# a comment\n   # indented\nRUN x');
    expect(insts).toHaveLength(1);
    expect(insts[0].line).toBe(4);
  });

  it('does not treat # after an instruction as a comment', () => {
    expect(only('RUN echo hi # there', 'run').args).toEqual(['echo hi # there']);
  });

  it('joins continuation lines keeping their leading whitespace', () => {
    const text = 'RUN echo hello\\\n  world\\\n  goodnight  \\\n  moon\\\n  light\\\nning';
    expect(only(text, 'run').args).toEqual(['echo hello  world  goodnight    moon  lightning']);
  });

  it('treats an escape followed by blanks as a continuation', () => {
    expect(only('RUN echo hello  \\  \nworld', 'run').args).toEqual(['echo hello  world']);
  });

  it('handles lines holding only the escape and blank-prefixed escapes', () => {
    expect(only('RUN echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight', 'run').args).toEqual(['echo hi   world  goodnight']);
  });

  it('skips comments and blank lines inside a continuation', () => {
    const text = 'RUN echo hello \\\n# this is a comment\n\n# another\n\nthis is some more useful stuff';
    expect(only(text, 'run').args).toEqual(['echo hello this is some more useful stuff']);
    expect(only('RUN foo \\\n\nbar \\\n\nbaz', 'run').args).toEqual(['foo bar baz']);
  });

  it('skips an indented comment inside a continuation', () => {
    expect(only('RUN indented \\\n    # comment\n    comment', 'run').args).toEqual(['indented     comment']);
  });

  it('ends a continuation at end of file', () => {
    expect(only('RUN something \\', 'run')).toMatchObject({ args: ['something'], original: 'RUN something' });
  });

  it('does not continue after an escaped escape', () => {
    const insts = body('RUN echo a\\\\\nRUN echo b');
    expect(insts.map((i) => i.original)).toEqual(['RUN echo a\\\\', 'RUN echo b']);
  });

  it('warns about empty continuation lines as docker build prints it', () => {
    const text = [
      'FROM alpine:3.6',
      '',
      'RUN valid \\',
      '    continuation',
      '',
      'RUN something \\',
      '',
      '    following \\',
      '',
      '    more',
      '',
      'RUN another \\',
      '',
      '    thing',
      '',
      'RUN non-indented \\',
      '# this is a comment',
      '   after-comment',
      '',
      'RUN indented \\',
      '    # this is an indented comment',
      '    comment',
      '\t',
    ].join('\n');
    expect(parseDockerfile(text).warnings).toEqual([
      '[WARNING]: Empty continuation line found in: RUN something     following     more',
      '[WARNING]: Empty continuation line found in: RUN another     thing',
      '[WARNING]: Empty continuation lines will become errors in a future release.',
    ]);
    expect(parseDockerfile('FROM a\nRUN b \\\n  c').warnings).toEqual([]);
  });

  it('records start and end lines across continuations', () => {
    const insts = body('\nRUN a \\\n  b \\\n  c\nCMD d');
    expect(insts.map((i) => [i.line, i.endLine])).toEqual([
      [3, 5],
      [6, 6],
    ]);
  });

  it('keeps the joined, trimmed text as the step text', () => {
    const run = only('  RUN apt-get update && \\\n    apt-get install -y x   ', 'run');
    expect(run.original).toBe('RUN apt-get update &&     apt-get install -y x');
  });

  it('accepts CRLF line endings', () => {
    const insts = parseDockerfile('FROM a\r\nRUN b \\\r\n  c\r\nCMD ["d"]\r\n').stages[0].instructions;
    expect(insts[0]).toMatchObject({ args: ['b   c'], original: 'RUN b   c' });
    expect(insts[1]).toMatchObject({ kind: 'cmd', args: ['d'], execForm: true });
  });

  it('accepts any case for instruction names', () => {
    const df = parseDockerfile('from alpine As Build\nrun echo\nCoPy a b');
    expect(df.stages[0].name).toBe('build');
    expect(df.stages[0].instructions.map((i) => i.kind)).toEqual(['run', 'copy']);
    expect(df.stages[0].instructions[0].original).toBe('run echo');
  });
});

describe('structure', () => {
  it('collects ARGs before the first FROM as global args', () => {
    const df = parseDockerfile('ARG A=1\nARG B\nFROM a\nARG C');
    expect(df.globalArgs.map((a) => a.args)).toEqual([[{ key: 'A', value: '1' }], [{ key: 'B' }]]);
    expect(df.stages[0].instructions[0]).toMatchObject({ kind: 'arg', args: [{ key: 'C' }] });
  });

  it('splits stages at each FROM with indexes and lowercased names', () => {
    const df = parseDockerfile('FROM a AS One\nRUN x\nFROM b\nFROM c AS three');
    expect(df.stages.map((s) => [s.index, s.name, s.from.image, s.instructions.length])).toEqual([
      [0, 'one', 'a', 1],
      [1, undefined, 'b', 0],
      [2, 'three', 'c', 0],
    ]);
  });

  it('refuses an instruction before the first FROM', () => {
    const err = syntaxError('ARG A\nRUN x\nFROM a');
    expect(err.message).toBe('dockerfile parse error on line 2: no build stage in current context');
  });

  it('refuses a file with no instructions', () => {
    expect(syntaxError('').detail).toBe('file with no instructions');
    expect(syntaxError('# only\n# comments\n').message).toBe('dockerfile parse error on line 2: file with no instructions');
  });

  it('parses a file of only global ARGs (planBuild refuses it later)', () => {
    expect(parseDockerfile('ARG A').stages).toEqual([]);
  });
});

describe('parse errors', () => {
  it('reports an unknown instruction with a suggestion and the line', () => {
    const err = syntaxError('FROM a\n\nFRM b');
    expect(err.line).toBe(3);
    expect(err.message).toBe('dockerfile parse error on line 3: unknown instruction: FRM (did you mean FROM?)');
  });

  it('matches the case of the unknown instruction in the suggestion', () => {
    expect(syntaxError('FROM a\nrunn x').detail).toBe('unknown instruction: runn (did you mean run?)');
  });

  it('gives no suggestion for far-off names', () => {
    expect(syntaxError('FROM a\nFOOBAR x').detail).toBe('unknown instruction: FOOBAR');
  });

  it('reports the first line of a continued instruction', () => {
    expect(syntaxError('FROM a\nFOOBAR x \\\n  y').line).toBe(2);
  });

  it('reports line-level errors before instruction errors, as Docker parses in two passes', () => {
    const err = syntaxError('FROM a\nFRM x\nCMD ["a", 1]');
    expect(err.line).toBe(3);
    expect(err.detail).toBe('when using JSON array syntax, arrays must be comprised of strings only');
  });

  it('refuses nested JSON arrays', () => {
    expect(syntaxError('FROM a\nCMD [ "echo", [ "nested json" ] ]').detail).toBe(
      'when using JSON array syntax, arrays must be comprised of strings only',
    );
  });

  it('refuses unknown flags with a suggestion', () => {
    expect(syntaxError('FROM a\nCOPY --chwon=1 a b').detail).toBe('unknown flag: --chwon (did you mean chown?)');
    expect(syntaxError('FROM a\nCOPY --user=me foo /tmp/').detail).toBe('unknown flag: --user');
    expect(syntaxError('FROM a\nCMD --doit [ "a" ]').detail).toBe('unknown flag: --doit');
  });

  it('refuses duplicate and value-less flags', () => {
    expect(syntaxError('FROM a\nCOPY --from=a --from=b x y').detail).toBe('duplicate flag specified: --from');
    expect(syntaxError('FROM a\nCOPY --from x y').detail).toBe('missing a value on flag: --from');
    expect(syntaxError('FROM a\nCOPY --link= x y').detail).toBe('missing a value on flag: --link');
    expect(syntaxError('FROM a\nCOPY --link=maybe x y').detail).toBe('expecting boolean value for flag --link, not: maybe');
  });

  it('stops reading flags at --', () => {
    expect(only('COPY -- foo /tmp/', 'copy')).toMatchObject({ sources: ['foo'], dest: '/tmp/' });
  });
});

describe('FROM', () => {
  it('reads image, platform and stage name', () => {
    const from = parseDockerfile('FROM --platform=linux/arm64 alpine:3.19 AS Build').stages[0].from;
    expect(from).toEqual({
      kind: 'from',
      line: 1,
      endLine: 1,
      original: 'FROM --platform=linux/arm64 alpine:3.19 AS Build',
      image: 'alpine:3.19',
      platform: 'linux/arm64',
      stageName: 'build',
    });
  });

  it('keeps variables unexpanded', () => {
    expect(parseDockerfile('FROM --platform=$BUILDPLATFORM ${IMG}:latest').stages[0].from).toMatchObject({
      image: '${IMG}:latest',
      platform: '$BUILDPLATFORM',
    });
  });

  it('refuses the wrong number of arguments', () => {
    expect(syntaxError('FROM a b').detail).toBe('FROM requires either one or three arguments');
    expect(syntaxError('FROM a AS').detail).toBe('FROM requires either one or three arguments');
    expect(syntaxError('FROM').detail).toBe('FROM requires either one or three arguments');
  });

  it('refuses invalid stage names', () => {
    expect(syntaxError('FROM a AS 1st').detail).toBe(
      'invalid name for build stage: "1st", name can\'t start with a number or contain symbols',
    );
    expect(syntaxError('FROM a AS b@c').detail).toContain('invalid name for build stage: "b@c"');
  });

  it('accepts dashes, underscores and dots in stage names', () => {
    expect(parseDockerfile('FROM a AS My-stage_1.x').stages[0].name).toBe('my-stage_1.x');
  });

  it('refuses flags other than --platform', () => {
    expect(syntaxError('FROM --plataform=x a').detail).toBe('unknown flag: --plataform (did you mean platform?)');
  });
});

describe('RUN', () => {
  it('keeps the shell form as one string', () => {
    expect(only('RUN apt-get update && apt-get install -y curl', 'run')).toMatchObject({
      args: ['apt-get update && apt-get install -y curl'],
      execForm: false,
      heredocs: [],
    });
  });

  it('reads the exec form', () => {
    expect(only('RUN ["/bin/bash", "-c", "echo hi"]', 'run')).toMatchObject({ args: ['/bin/bash', '-c', 'echo hi'], execForm: true });
  });

  it('treats malformed JSON as the shell form', () => {
    expect(only('RUN ["a", "b"', 'run')).toMatchObject({ args: ['["a", "b"'], execForm: false });
    expect(only("RUN ['a']", 'run').execForm).toBe(false);
  });

  it('accepts an empty RUN', () => {
    expect(only('RUN', 'run')).toMatchObject({ args: [], execForm: false });
  });

  it('reads --network', () => {
    expect(only('RUN --network=none make', 'run')).toMatchObject({ network: 'none', args: ['make'] });
    expect(only('RUN make', 'run').network).toBeUndefined();
    expect(syntaxError('FROM a\nRUN --network=bridge make').detail).toBe('invalid network mode "bridge"');
  });

  it('refuses --mount, --security and --device as the legacy builder does', () => {
    expect(syntaxError('FROM a\nRUN --mount=type=cache,target=/root/.cache go build').detail).toBe(`the --mount option ${BUILDKIT}`);
    expect(syntaxError('FROM a\nRUN --security=insecure x').detail).toBe(`the --security option ${BUILDKIT}`);
    expect(syntaxError('FROM a\nRUN --device=foo x').detail).toBe(`the --device option ${BUILDKIT}`);
  });

  it('names the first refused flag in the order given', () => {
    expect(syntaxError('FROM a\nRUN --network=host --security=sandbox --mount=type=tmpfs,target=/t x').detail).toBe(
      `the --security option ${BUILDKIT}`,
    );
  });

  it('keeps JSON escapes decoded', () => {
    expect(only('CMD ["abc 123", "\u2665", "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]', 'cmd').args).toEqual([
      'abc 123',
      '\u2665',
      '" \\ / \b \f \n \r \t \u0000',
    ]);
  });
});

describe('CMD and ENTRYPOINT', () => {
  it('reads both forms', () => {
    expect(only('CMD echo hi', 'cmd')).toMatchObject({ args: ['echo hi'], execForm: false });
    expect(only('CMD [ "a", "b" ]', 'cmd')).toMatchObject({ args: ['a', 'b'], execForm: true });
    expect(only('CMD\t[\t"a",\t"b"\t]\t', 'cmd').args).toEqual(['a', 'b']);
    expect(only('ENTRYPOINT ["/entry.sh"]', 'entrypoint')).toMatchObject({ args: ['/entry.sh'], execForm: true });
    expect(only('ENTRYPOINT exec nginx', 'entrypoint')).toMatchObject({ args: ['exec nginx'], execForm: false });
  });

  it('keeps empty arrays and empty strings', () => {
    expect(only('CMD []', 'cmd')).toMatchObject({ args: [], execForm: true });
    expect(only('CMD [""]', 'cmd').args).toEqual(['']);
    expect(only('ENTRYPOINT []', 'entrypoint')).toMatchObject({ args: [], execForm: true });
  });
});

describe('ENV and LABEL', () => {
  it('reads the legacy single-pair form', () => {
    expect(only('ENV name value with spaces', 'env').env).toEqual([{ key: 'name', value: 'value with spaces' }]);
    expect(only('ENV foo bar=baz', 'env').env).toEqual([{ key: 'foo', value: 'bar=baz' }]);
  });

  it('reads key=value pairs keeping quotes and escapes for expansion', () => {
    const cases: Array<[string, Array<{ key: string; value: string }>]> = [
      ['ENV name=value', [{ key: 'name', value: 'value' }]],
      [
        'ENV name=value name2=value2',
        [
          { key: 'name', value: 'value' },
          { key: 'name2', value: 'value2' },
        ],
      ],
      ['ENV name="value value1"', [{ key: 'name', value: '"value value1"' }]],
      ['ENV name=value\\ value2', [{ key: 'name', value: 'value\\ value2' }]],
      ['ENV name="value\'quote space\'value2"', [{ key: 'name', value: '"value\'quote space\'value2"' }]],
      ['ENV name=\'value"double quote"value2\'', [{ key: 'name', value: '\'value"double quote"value2\'' }]],
      ['ENV name="a\\"b"', [{ key: 'name', value: '"a\\"b"' }]],
      ["ENV name='a\\'b''", [{ key: 'name', value: "'a\\'b''" }]],
      ['ENV name="\'\'"', [{ key: 'name', value: '"\'\'"' }]],
    ];
    for (const [text, env] of cases) expect(only(text, 'env').env).toEqual(env);
  });

  it('reads pairs spread over continuation lines', () => {
    const text = 'ENV name=value \\\n    name1=value1 \\\n    name2="value2a \\\n           value2b" \\\n\tname4="value4a\\\\nvalue4b" \\\n';
    expect(only(text, 'env').env).toEqual([
      { key: 'name', value: 'value' },
      { key: 'name1', value: 'value1' },
      { key: 'name2', value: '"value2a            value2b"' },
      { key: 'name4', value: '"value4a\\\\nvalue4b"' },
    ]);
  });

  it('refuses malformed ENV lines', () => {
    expect(syntaxError('FROM a\nENV').detail).toBe('ENV requires at least one argument');
    expect(syntaxError('FROM a\nENV foo').detail).toBe('ENV must have two arguments');
    expect(syntaxError('FROM a\nENV a=1 baz').detail).toBe('Syntax error - can\'t find = in "baz". Must be of the form: name=value');
    expect(syntaxError('FROM a\nENV =x').detail).toBe('ENV names can not be blank');
  });

  it('reads several labels with quotes', () => {
    expect(only('LABEL a=1 "b c"="d e" version=\'2\'', 'label').labels).toEqual([
      { key: 'a', value: '1' },
      { key: '"b c"', value: '"d e"' },
      { key: 'version', value: "'2'" },
    ]);
    expect(only('LABEL maintainer foo@bar.com', 'label').labels).toEqual([{ key: 'maintainer', value: 'foo@bar.com' }]);
    expect(syntaxError('FROM a\nLABEL').detail).toBe('LABEL requires at least one argument');
    expect(syntaxError('FROM a\nLABEL x').detail).toBe('LABEL must have two arguments');
  });

  it('keeps escapes in legacy label values', () => {
    expect(only('LABEL maintainer Erik \\\\Hollensbe <erik@hollensbe.org>\\"', 'label').labels).toEqual([
      { key: 'maintainer', value: 'Erik \\\\Hollensbe <erik@hollensbe.org>\\"' },
    ]);
  });
});

describe('MAINTAINER, USER, WORKDIR, STOPSIGNAL', () => {
  it('take the rest of the line as one argument', () => {
    expect(only('MAINTAINER Jane Doe <jane@example.com>', 'maintainer').maintainer).toBe('Jane Doe <jane@example.com>');
    expect(only('USER app:app', 'user').user).toBe('app:app');
    expect(only('WORKDIR "/my dir"', 'workdir').path).toBe('"/my dir"');
    expect(only('WORKDIR $HOME/src', 'workdir').path).toBe('$HOME/src');
    expect(only('STOPSIGNAL SIGKILL', 'stopsignal').signal).toBe('SIGKILL');
  });

  it('refuse a missing argument', () => {
    expect(syntaxError('FROM a\nUSER').detail).toBe('USER requires exactly one argument');
    expect(syntaxError('FROM a\nWORKDIR').detail).toBe('WORKDIR requires exactly one argument');
    expect(syntaxError('FROM a\nMAINTAINER').detail).toBe('MAINTAINER requires exactly one argument');
    expect(syntaxError('FROM a\nSTOPSIGNAL').detail).toBe('STOPSIGNAL requires exactly one argument');
  });
});

describe('EXPOSE and VOLUME', () => {
  it('sorts exposed ports as Docker does', () => {
    expect(only('EXPOSE 8080 443/tcp 80 $PORT', 'expose').ports).toEqual(['$PORT', '443/tcp', '80', '8080']);
    expect(syntaxError('FROM a\nEXPOSE').detail).toBe('EXPOSE requires at least one argument');
  });

  it('reads volumes as words or JSON', () => {
    expect(only('VOLUME /data /logs', 'volume').volumes).toEqual(['/data', '/logs']);
    expect(only('VOLUME ["/data", " /with space "]', 'volume').volumes).toEqual(['/data', '/with space']);
    expect(syntaxError('FROM a\nVOLUME [""]').detail).toBe('VOLUME specified can not be an empty string');
    expect(syntaxError('FROM a\nVOLUME').detail).toBe('VOLUME requires at least one argument');
  });
});

describe('ADD and COPY', () => {
  it('reads sources, destination and flags', () => {
    expect(only('COPY --chown=1000:1000 --chmod=0755 --link a.txt b/ /dest/', 'copy')).toMatchObject({
      sources: ['a.txt', 'b/'],
      dest: '/dest/',
      chown: '1000:1000',
      chmod: '0755',
      link: true,
      inlineSources: [],
    });
    expect(only('ADD https://example.com/x.tgz /opt/', 'add')).toMatchObject({ sources: ['https://example.com/x.tgz'], dest: '/opt/', link: false });
  });

  it('reads COPY --from as written', () => {
    expect(only('COPY --from=builder /out/app /app', 'copy').from).toBe('builder');
    expect(only('COPY --from=0 /a /b', 'copy').from).toBe('0');
    expect(only('COPY /a /b', 'copy').from).toBeUndefined();
  });

  it('reads the JSON form, allowing spaces in paths', () => {
    expect(only('COPY ["my file", "/dest dir/"]', 'copy')).toMatchObject({ sources: ['my file'], dest: '/dest dir/' });
  });

  it('splits the word form on whitespace only (quotes are resolved at expansion)', () => {
    expect(only('COPY "a b" /c', 'copy').sources).toEqual(['"a', 'b"']);
  });

  it('accepts --link=false and quoted flag values', () => {
    expect(only('COPY --link=false a b', 'copy').link).toBe(false);
    expect(only('COPY --chown="user name" a b', 'copy').chown).toBe('user name');
  });

  it('refuses a missing destination', () => {
    expect(syntaxError('FROM a\nCOPY a').detail).toBe(
      'COPY requires at least two arguments, but only one was provided. Destination could not be determined',
    );
    expect(syntaxError('FROM a\nADD a').detail).toContain('ADD requires at least two arguments');
  });

  it('refuses BuildKit-only ADD and COPY flags', () => {
    expect(syntaxError('FROM a\nADD --checksum=sha256:abc https://x/y /y').detail).toBe(`the --checksum option ${BUILDKIT}`);
    expect(syntaxError('FROM a\nADD --keep-git-dir=true https://x/y.git /y').detail).toBe(`the --keep-git-dir option ${BUILDKIT}`);
    expect(syntaxError('FROM a\nCOPY --exclude=*.md . /y').detail).toBe(`the --exclude option ${BUILDKIT}`);
    expect(syntaxError('FROM a\nCOPY --parents a/b /y').detail).toBe(`the --parents option ${BUILDKIT}`);
  });

  it('refuses ADD --from', () => {
    expect(syntaxError('FROM a\nADD --from=x a b').detail).toBe('unknown flag: --from');
  });
});

describe('ARG', () => {
  it('reads names, defaults and several per line', () => {
    expect(only('ARG A B=2 C= D="x y"', 'arg').args).toEqual([{ key: 'A' }, { key: 'B', value: '2' }, { key: 'C', value: '' }, { key: 'D', value: '"x y"' }]);
  });

  it('keeps an = inside the default', () => {
    expect(only('ARG OPTS=a=b', 'arg').args).toEqual([{ key: 'OPTS', value: 'a=b' }]);
  });

  it('refuses blank names and a bare ARG', () => {
    expect(syntaxError('FROM a\nARG =x').detail).toBe('ARG names can not be blank');
    expect(syntaxError('FROM a\nARG').detail).toBe('ARG requires at least one argument');
  });
});

describe('ONBUILD', () => {
  it('records the expression and parses the trigger', () => {
    const onbuild = only('ONBUILD COPY --chown=app . /src', 'onbuild');
    expect(onbuild.expression).toBe('COPY --chown=app . /src');
    expect(onbuild.original).toBe('ONBUILD COPY --chown=app . /src');
    expect(onbuild.trigger).toMatchObject({ kind: 'copy', sources: ['.'], dest: '/src', chown: 'app', line: 2 });
  });

  it('keeps the case of the trigger text', () => {
    expect(only('onbuild run echo hi', 'onbuild').expression).toBe('run echo hi');
  });

  it('refuses chained ONBUILD, and FROM or MAINTAINER triggers', () => {
    expect(syntaxError('FROM a\nONBUILD ONBUILD RUN x').detail).toBe('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    expect(syntaxError('FROM a\nONBUILD FROM b').detail).toBe("FROM isn't allowed as an ONBUILD trigger");
    expect(syntaxError('FROM a\nonbuild maintainer me').detail).toBe("MAINTAINER isn't allowed as an ONBUILD trigger");
    expect(syntaxError('FROM a\nONBUILD').detail).toBe('ONBUILD requires at least one argument');
  });

  it('refuses a trigger that does not parse, at the ONBUILD line', () => {
    const err = syntaxError('FROM a\n\nONBUILD XYZZY bar');
    expect(err.line).toBe(3);
    expect(err.detail).toBe('unknown instruction: XYZZY');
  });

  it('records BuildKit-only triggers; they are refused when run', () => {
    const onbuild = only('ONBUILD RUN --mount=type=cache,target=/c make', 'onbuild');
    expect(onbuild.expression).toBe('RUN --mount=type=cache,target=/c make');
    expect(() => parseTrigger(onbuild.expression)).toThrow(`the --mount option ${BUILDKIT}`);
  });

  it('appends heredoc bodies to the expression', () => {
    const onbuild = only('ONBUILD RUN <<EOF\necho hi\nEOF', 'onbuild');
    expect(onbuild.expression).toBe('RUN <<EOF\necho hi\nEOF');
    expect(onbuild.endLine).toBe(4);
    expect(onbuild.trigger).toMatchObject({ kind: 'run', heredocs: [{ name: 'EOF', content: 'echo hi\n' }] });
  });
});

describe('parseTrigger', () => {
  it('parses a base image trigger', () => {
    expect(parseTrigger('RUN echo hi')).toMatchObject({ kind: 'run', args: ['echo hi'], original: 'RUN echo hi', line: 1 });
  });

  it('refuses more than one instruction and FROM', () => {
    expect(() => parseTrigger('RUN a\nRUN b')).toThrow('dockerfile parse error on line 1: onbuild trigger should be a single expression');
    expect(() => parseTrigger('FROM x')).toThrow("FROM isn't allowed as an ONBUILD trigger");
  });
});

describe('HEALTHCHECK', () => {
  it('reads NONE', () => {
    expect(only('HEALTHCHECK NONE', 'healthcheck').health).toEqual({
      test: ['NONE'],
      interval: 0,
      timeout: 0,
      startPeriod: 0,
      startInterval: 0,
      retries: 0,
    });
    expect(syntaxError('FROM a\nHEALTHCHECK NONE now').detail).toBe('HEALTHCHECK NONE takes no arguments');
  });

  it('reads CMD in shell and exec forms', () => {
    expect(only('HEALTHCHECK CMD curl -f http://localhost/ || exit 1', 'healthcheck').health.test).toEqual([
      'CMD-SHELL',
      'curl -f http://localhost/ || exit 1',
    ]);
    expect(only('HEALTHCHECK cmd ["curl", "-f", "http://x"]', 'healthcheck').health.test).toEqual(['CMD', 'curl', '-f', 'http://x']);
  });

  it('converts durations to nanoseconds', () => {
    const h = only('HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 CMD true', 'healthcheck').health;
    expect(h).toEqual({
      test: ['CMD-SHELL', 'true'],
      interval: 300_000_000_000,
      timeout: 3_000_000_000,
      startPeriod: 90_000_000_000,
      startInterval: 500_000_000,
      retries: 3,
    });
  });

  it('treats zero durations as unset', () => {
    expect(only('HEALTHCHECK --interval=0s CMD true', 'healthcheck').health.interval).toBe(0);
  });

  it('refuses bad durations and retries with Go messages', () => {
    expect(syntaxError('FROM a\nHEALTHCHECK --interval=5 CMD x').detail).toBe('time: missing unit in duration "5"');
    expect(syntaxError('FROM a\nHEALTHCHECK --timeout=soon CMD x').detail).toBe('time: invalid duration "soon"');
    expect(syntaxError('FROM a\nHEALTHCHECK --interval=5x CMD x').detail).toBe('time: unknown unit "x" in duration "5x"');
    expect(syntaxError('FROM a\nHEALTHCHECK --interval=100us CMD x').detail).toBe('Interval "interval" cannot be less than 1ms');
    expect(syntaxError('FROM a\nHEALTHCHECK --start-period=-1s CMD x').detail).toBe('Interval "start-period" cannot be less than 1ms');
    expect(syntaxError('FROM a\nHEALTHCHECK --retries=-1 CMD x').detail).toBe('--retries cannot be negative (-1)');
    expect(syntaxError('FROM a\nHEALTHCHECK --retries=many CMD x').detail).toBe('strconv.ParseInt: parsing "many": invalid syntax');
  });

  it('refuses an unknown type or a missing command', () => {
    expect(syntaxError('FROM a\nHEALTHCHECK RUN x').detail).toBe('Unknown type "RUN" in HEALTHCHECK (try CMD)');
    expect(syntaxError('FROM a\nHEALTHCHECK CMD').detail).toBe('Missing command after HEALTHCHECK CMD');
    expect(syntaxError('FROM a\nHEALTHCHECK').detail).toBe('HEALTHCHECK requires at least one argument');
  });
});

describe('SHELL', () => {
  it('requires the JSON form', () => {
    expect(only('SHELL ["powershell", "-command"]', 'shell').shell).toEqual(['powershell', '-command']);
    expect(syntaxError('FROM a\nSHELL powershell -command').detail).toBe('SHELL requires the arguments to be in JSON form');
    expect(syntaxError('FROM a\nSHELL []').detail).toBe('SHELL requires at least one argument');
  });
});
