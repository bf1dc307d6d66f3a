import { parseAst } from './ast';
import { DockerfileSyntaxError } from './errors';
import { chompHeredocContent, heredocBody, heredocsFromLine, parseHeredocWord } from './heredoc';
import type { CopyInstruction, Instruction, RunInstruction } from './instructions';
import { parseDockerfile } from './parse';
import { resolveRunCommand } from './run-command';

function stage(text: string): Instruction[] {
  return parseDockerfile(`FROM alpine\n${text}`).stages[0].instructions;
}

function run(text: string): RunInstruction {
  const [inst] = stage(text);
  expect(inst.kind).toBe('run');
  return inst as RunInstruction;
}

function copy(text: string): CopyInstruction {
  const [inst] = stage(text);
  expect(inst.kind).toBe('copy');
  return inst as CopyInstruction;
}

describe('heredoc words', () => {
  it.each(['<<EOF', "<<'EOF'", '<<"EOF"', '<<-EOF', "<<-'EOF'", '<<-"EOF"', '<<EO"F"', '<< EOF', '<<- EOF'])('%s opens a heredoc named EOF', (word) => {
    expect(parseHeredocWord(word)?.name).toBe('EOF');
  });

  it.each(['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh'])('%j is not a heredoc', (word) => {
    expect(parseHeredocWord(word)).toBeUndefined();
  });

  it.each(["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"'])('%s is a malformed heredoc', (word) => {
    expect(() => parseHeredocWord(word)).toThrow(/unexpected end of statement while looking for matching/);
  });

  it('reads chomping, quoting and the file descriptor', () => {
    expect(parseHeredocWord('<<-EOF')).toEqual({ name: 'EOF', expand: true, chomp: true, fileDescriptor: 0 });
    expect(parseHeredocWord("<<'EOF'")).toEqual({ name: 'EOF', expand: false, chomp: false, fileDescriptor: 0 });
    expect(parseHeredocWord('3<<EOF')).toEqual({ name: 'EOF', expand: true, chomp: false, fileDescriptor: 3 });
  });

  it('finds every heredoc on a line, ignoring quoted ones', () => {
    expect(heredocsFromLine('COPY <<FILE1 <<FILE2 /dest').map((d) => d.name)).toEqual(['FILE1', 'FILE2']);
    expect(heredocsFromLine('RUN "<<NOHEREDOC"')).toEqual([]);
    expect(heredocsFromLine('RUN cat <<EOF > /out')).toMatchObject([{ name: 'EOF' }]);
    expect(heredocsFromLine('RUN <<  EOF  > foo')).toMatchObject([{ name: 'EOF' }]);
  });

  it('strips leading tabs for <<-', () => {
    expect(chompHeredocContent('\thello\n\t\tworld\n  spaces stay\n')).toBe('hello\nworld\n  spaces stay\n');
  });
});

describe('heredocs in a Dockerfile', () => {
  it('attaches an empty body', () => {
    expect(run('RUN <<EMPTY\nEMPTY').heredocs).toEqual([{ name: 'EMPTY', content: '', expand: true, chomp: false, fileDescriptor: 0 }]);
  });

  it('keeps body tabs and line endings as written', () => {
    expect(run('RUN <<INDENT\n\tfoo\n\tbar\nINDENT').heredocs[0].content).toBe('\tfoo\n\tbar\n');
  });

  it('ends a <<- body at a tab-indented delimiter and strips tabs when used', () => {
    const doc = run('RUN <<-UNINDENT2\n\tbaz\n\tquux\n\tUNINDENT2').heredocs[0];
    expect(doc).toMatchObject({ name: 'UNINDENT2', content: '\tbaz\n\tquux\n', chomp: true });
    expect(heredocBody(doc)).toBe('baz\nquux\n');
  });

  it('disables expansion for a quoted delimiter', () => {
    expect(run("RUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND").heredocs[0]).toMatchObject({
      name: 'NOEXPAND',
      content: "\tdon't expand $NAME\n",
      expand: false,
    });
  });

  it('handles partially quoted and escaped delimiters as Docker does', () => {
    expect(run("RUN <<eo'f'\necho foo\neof").heredocs[0]).toMatchObject({ name: 'eof', expand: false });
    expect(run("RUN <<eo\\'f\necho foo\neo'f").heredocs[0]).toMatchObject({ name: "eo'f", expand: true });
    expect(run("RUN <<'e'o\\'f\necho foo\neo'f").heredocs[0]).toMatchObject({ name: "eo'f", expand: false });
    expect(run("RUN <<'one two'\necho bar\none two").heredocs[0]).toMatchObject({ name: 'one two', expand: false });
    expect(run('RUN <<$EOF\n$EOF').heredocs[0]).toMatchObject({ name: '$EOF', content: '' });
  });

  it('keeps comment-like body lines', () => {
    expect(run('RUN <<COMMENT\n# internal comment\necho hello # trailing\nCOMMENT').heredocs[0].content).toBe(
      '# internal comment\necho hello # trailing\n',
    );
  });

  it('reads several heredocs in order, each ending at its own delimiter', () => {
    const c = copy('COPY <<X <<Y /dest\nY\nX\nX\nY');
    expect(c.inlineSources).toEqual([
      { path: 'X', data: 'Y\n', expand: true },
      { path: 'Y', data: 'X\n', expand: true },
    ]);
    expect(c.sources).toEqual([]);
    expect(c.dest).toBe('/dest');
  });

  it('mixes heredoc and path sources for COPY', () => {
    const c = copy('COPY <<file.txt other.txt /dest/\nhello world\nfile.txt');
    expect(c.inlineSources).toEqual([{ path: 'file.txt', data: 'hello world\n', expand: true }]);
    expect(c.sources).toEqual(['other.txt']);
  });

  it('tab-strips COPY bodies opened with <<-', () => {
    expect(copy('COPY <<-EOF /x\n\tline\nEOF').inlineSources[0].data).toBe('line\n');
  });

  it('keeps quotes in bodies', () => {
    expect(copy('COPY <<EOF /quotes\n"foo"\n\'bar\'\nEOF').inlineSources[0].data).toBe('"foo"\n\'bar\'\n');
  });

  it('refuses a heredoc destination', () => {
    expect(() => stage('COPY a <<EOF\nx\nEOF')).toThrow('dockerfile parse error on line 2: COPY cannot accept a heredoc as a destination');
  });

  it('reads heredocs after flags and a file descriptor', () => {
    expect(run('RUN --network=none <<MOUNT\necho hello\nMOUNT').heredocs[0].content).toBe('echo hello\n');
    expect(run('RUN 3<<EMPTY2\nEMPTY2').heredocs[0].fileDescriptor).toBe(3);
  });

  it('does not read heredocs for exec-form RUN or other instructions', () => {
    const insts = stage('RUN ["<<EOF"]\nRUN ["whoami"]\nUSER <<INVALID\nRUN x');
    expect(insts.map((i) => i.kind)).toEqual(['run', 'run', 'user', 'run']);
    expect((insts[0] as RunInstruction).heredocs).toEqual([]);
  });

  it('counts body lines into the instruction lines', () => {
    const insts = stage('RUN <<EOF\na\nb\nEOF\nRUN next');
    expect(insts.map((i) => [i.line, i.endLine])).toEqual([
      [2, 5],
      [6, 6],
    ]);
    expect(insts[0].original).toBe('RUN <<EOF');
  });

  it('refuses an unterminated heredoc at its instruction line', () => {
    let err: unknown;
    try {
      parseDockerfile('FROM a\n\nRUN <<EOF\necho hi\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DockerfileSyntaxError);
    expect((err as DockerfileSyntaxError).message).toBe('dockerfile parse error on line 3: unterminated heredoc');
  });

  it('leaves an unlexable line without heredocs', () => {
    const { nodes } = parseAst("FROM a\nRUN <<'EOF\nEOF");
    expect(nodes[1].heredocs).toEqual([]);
  });
});

describe('resolveRunCommand', () => {
  it('passes commands without heredocs through', () => {
    expect(resolveRunCommand(run('RUN ["a", "b"]'))).toEqual({ args: ['a', 'b'], execForm: true });
    expect(resolveRunCommand(run('RUN echo hi'))).toEqual({ args: ['echo hi'], execForm: false });
  });

  it('runs a lone heredoc body through the shell', () => {
    expect(resolveRunCommand(run('RUN <<EOF\necho hello\necho world\nEOF'))).toEqual({ args: ['echo hello\necho world\n'], execForm: false });
  });

  it('strips tabs for a lone <<- heredoc', () => {
    expect(resolveRunCommand(run('RUN <<-EOF\n\techo hi\nEOF')).args).toEqual(['echo hi\n']);
  });

  it('turns a lone heredoc with a shebang into a script file', () => {
    expect(resolveRunCommand(run('RUN <<EOT\n#!/usr/bin/env python3\nprint("hi")\nEOT'))).toEqual({
      args: ['/dev/pipes/EOT'],
      execForm: false,
      file: { path: '/dev/pipes/EOT', data: '#!/usr/bin/env python3\nprint("hi")\n' },
    });
  });

  it('hands a command using heredocs to the shell with the bodies appended', () => {
    expect(resolveRunCommand(run('RUN <<COMPLEX python3\nprint(1)\nCOMPLEX')).args).toEqual(['<<COMPLEX python3\nprint(1)\nCOMPLEX']);
    expect(resolveRunCommand(run('RUN cat <<A >a && cat <<B >b\n1\nA\n2\nB')).args).toEqual(['cat <<A >a && cat <<B >b\n1\nA\n2\nB']);
  });
});
