import { BuildPlanError } from './errors';
import { parseDockerfile } from './parse';
import type { BuildPlanOptions } from './plan';
import { planBuild, resolveArgValue, resolveCopyFrom } from './plan';

function plan(text: string, options: Partial<BuildPlanOptions> = {}) {
  return planBuild(parseDockerfile(text), { buildArgs: {}, ...options });
}

function planError(text: string, options: Partial<BuildPlanOptions> = {}): BuildPlanError {
  try {
    plan(text, options);
  } catch (err) {
    expect(err).toBeInstanceOf(BuildPlanError);
    return err as BuildPlanError;
  }
  throw new Error('expected a BuildPlanError');
}

const MULTI = `FROM golang:1.22 AS deps
RUN go mod download
FROM deps AS build
RUN go build -o /out/app
FROM alpine AS docs
RUN make docs
FROM scratch AS final
COPY --from=build /out/app /app
`;

describe('planBuild: stages', () => {
  it('builds the last stage and what it needs, skipping the rest', () => {
    const p = plan(MULTI);
    expect(p.stages.map((s) => s.stage.index)).toEqual([0, 1, 3]);
    expect(p.target.stage.name).toBe('final');
    expect(p.stages.map((s) => [s.baseImage, s.baseStage])).toEqual([
      ['golang:1.22', undefined],
      ['deps', 0],
      ['scratch', undefined],
    ]);
    expect(p.stages[2].dependsOn).toEqual([1]);
    expect(p.stages[2].copySources.get(8)).toEqual({ stage: 1 });
  });

  it('stops at --target, case-insensitively', () => {
    const p = plan(MULTI, { target: 'DOCS' });
    expect(p.stages.map((s) => s.stage.index)).toEqual([2]);
    expect(p.target.stage.name).toBe('docs');
  });

  it('refuses an unknown target', () => {
    expect(planError(MULTI, { target: 'nope' }).message).toBe('failed to reach build target nope in Dockerfile');
  });

  it('follows COPY --from by index', () => {
    const p = plan('FROM a\nRUN x\nFROM b\nFROM c\nCOPY --from=0 /x /x');
    expect(p.stages.map((s) => s.stage.index)).toEqual([0, 2]);
    expect(p.target.copySources.get(5)).toEqual({ stage: 0 });
  });

  it('follows dependencies transitively', () => {
    const p = plan('FROM a AS one\nFROM b AS two\nCOPY --from=one /a /a\nFROM two AS three\nFROM c\nCOPY --from=three /b /b');
    expect(p.stages.map((s) => s.stage.index)).toEqual([0, 1, 2, 3]);
  });

  it('treats an unknown COPY --from as an image', () => {
    const p = plan('FROM a\nCOPY --from=nginx:latest /etc/nginx /etc/nginx');
    expect(p.target.copySources.get(2)).toEqual({ image: 'nginx:latest' });
    expect(p.target.dependsOn).toEqual([]);
  });

  it('matches COPY --from stage names case-insensitively', () => {
    expect(plan('FROM a AS builder\nFROM b\nCOPY --from=Builder /x /x').target.copySources.get(3)).toEqual({ stage: 0 });
  });

  it('refuses COPY --from of the current stage, by name or index', () => {
    const byName = planError('FROM a AS self\nCOPY --from=self /x /x');
    expect(byName.message).toBe('invalid from flag value self: refers to current build stage');
    expect(byName.line).toBe(2);
    expect(planError('FROM a\nFROM b\nCOPY --from=1 /x /x').message).toBe('invalid from flag value 1: refers to current build stage');
  });

  it('refuses COPY --from of a later stage', () => {
    expect(planError('FROM a AS first\nCOPY --from=later /x /x\nFROM b AS later', { target: 'first' }).message).toBe(
      'invalid from flag value later: refers to stage later which is defined later in the Dockerfile',
    );
    expect(planError('FROM a\nFROM b\nCOPY --from=3 /x /x').message).toBe('invalid from flag value 3: index out of bounds');
    expect(planError('FROM a AS first\nCOPY --from=1 /x /x\nFROM b', { target: 'first' }).message).toBe(
      'invalid from flag value 1: index out of bounds',
    );
    expect(planError('FROM a\nFROM b\nCOPY --from=-1 /x /x').message).toBe('invalid from flag value -1: index out of bounds');
  });

  it('treats FROM naming a stage defined later (or itself) as an image', () => {
    const p = plan('FROM later AS first\nFROM alpine AS later\nFROM first');
    expect(p.stages.map((s) => [s.stage.index, s.baseImage, s.baseStage])).toEqual([
      [0, 'later', undefined],
      [2, 'first', 0],
    ]);
    expect(plan('FROM node AS node').target.baseStage).toBeUndefined();
  });

  it('refuses duplicate stage names up to the target', () => {
    const err = planError('FROM a AS x\nFROM b AS X\nFROM c');
    expect(err.message).toBe('x stage name already used');
    expect(err.line).toBe(2);
    expect(plan('FROM a AS x\nFROM b AS x', { target: 'x' }).target.stage.index).toBe(0);
  });

  it('refuses a Dockerfile without stages', () => {
    expect(planError('ARG A').message).toBe('No image was generated. Is your Dockerfile empty?');
  });

  it('numbers steps like the legacy builder', () => {
    const p = plan('ARG V=1\nFROM a AS one\nRUN x\nRUN y\nFROM b AS skipped\nRUN z\nFROM c\nCOPY --from=one /a /a');
    expect(p.stages.map((s) => s.firstStep)).toEqual([2, 5]);
    expect(p.totalSteps).toBe(6);
  });
});

describe('planBuild: global ARGs', () => {
  it('expands FROM with global ARG defaults', () => {
    const p = plan('ARG BASE=alpine\nARG TAG=3.19\nFROM ${BASE}:${TAG}');
    expect(p.target.baseImage).toBe('alpine:3.19');
    expect(p.globalArgs).toEqual({ BASE: 'alpine', TAG: '3.19' });
  });

  it('lets build args override defaults', () => {
    const p = plan('ARG TAG=3.19\nFROM alpine:$TAG', { buildArgs: { TAG: 'edge' } });
    expect(p.target.baseImage).toBe('alpine:edge');
    expect(p.globalArgs.TAG).toBe('edge');
  });

  it('uses build args only for declared global ARGs', () => {
    const p = plan('FROM alpine:${TAG:-latest}', { buildArgs: { TAG: 'edge' } });
    expect(p.target.baseImage).toBe('alpine:latest');
    expect(p.unusedBuildArgs).toEqual(['TAG']);
  });

  it('ignores a build arg given without a value', () => {
    expect(plan('ARG TAG=1\nFROM a:$TAG', { buildArgs: { TAG: undefined } }).target.baseImage).toBe('a:1');
  });

  it('expands defaults with earlier global ARGs, including overrides', () => {
    const text = 'ARG REG=docker.io\nARG IMG=$REG/library/alpine\nFROM $IMG';
    expect(plan(text).target.baseImage).toBe('docker.io/library/alpine');
    expect(plan(text, { buildArgs: { REG: 'ghcr.io' } }).target.baseImage).toBe('ghcr.io/library/alpine');
  });

  it('expands all defaults of one ARG line before recording them', () => {
    expect(plan('ARG A=x B=${A:-unset}\nFROM b:$B').target.baseImage).toBe('b:unset');
  });

  it('leaves global ARGs without a value unset', () => {
    const p = plan('ARG VARIANT\nFROM node${VARIANT:+-}${VARIANT}');
    expect(p.target.baseImage).toBe('node');
    expect(p.globalArgs).toEqual({});
  });

  it('expands --platform', () => {
    expect(plan('ARG P=linux/arm64\nFROM --platform=$P alpine').target.platform).toBe('linux/arm64');
  });

  it('refuses a FROM that expands to nothing', () => {
    const err = planError('ARG IMG\nFROM $IMG');
    expect(err.message).toBe('base name ($IMG) should not be blank');
    expect(err.line).toBe(2);
  });

  it('reports expansion errors in FROM with the line', () => {
    const err = planError('ARG IMG\nFROM ${IMG:?required}');
    expect(err.message).toBe('failed to process "${IMG:?required}": IMG: required');
    expect(err.line).toBe(2);
  });

  it('finds a stage named by an expanded FROM', () => {
    const p = plan('ARG MODE=dev\nFROM a AS base-dev\nFROM b AS base-prod\nFROM base-${MODE}');
    expect(p.stages.map((s) => s.stage.index)).toEqual([0, 2]);
    expect(p.target.baseStage).toBe(0);
  });
});

describe('planBuild: unused build args', () => {
  it('reports build args no ARG declares, sorted, with dockerd warning', () => {
    const p = plan('ARG USED\nFROM a\nARG ALSO', { buildArgs: { ZED: '1', USED: '2', ALSO: '3', ALPHA: '4' } });
    expect(p.unusedBuildArgs).toEqual(['ALPHA', 'ZED']);
    expect(p.warnings).toEqual(['[Warning] One or more build-args [ALPHA ZED] were not consumed']);
  });

  it('never reports proxy build args', () => {
    const p = plan('FROM a', { buildArgs: { HTTP_PROXY: 'x', no_proxy: 'y', ALL_PROXY: 'z' } });
    expect(p.unusedBuildArgs).toEqual([]);
    expect(p.warnings).toEqual([]);
  });

  it('ignores errors in stages that are not built', () => {
    expect(plan('FROM a\nCOPY --from=later /x /x\nFROM b AS later').stages.map((s) => s.stage.index)).toEqual([1]);
  });

  it('counts only ARGs of stages that are built', () => {
    const p = plan('FROM a AS skipped\nARG ONLY_HERE\nFROM b', { buildArgs: { ONLY_HERE: '1' } });
    expect(p.unusedBuildArgs).toEqual(['ONLY_HERE']);
  });

  it('counts given-without-value build args as given', () => {
    expect(plan('FROM a', { buildArgs: { X: undefined } }).unusedBuildArgs).toEqual(['X']);
  });
});

describe('resolveArgValue', () => {
  const p = plan('ARG VERSION=1.0\nARG EMPTY\nFROM a\nARG VERSION\nARG OTHER=dflt', { buildArgs: { OTHER: 'given', EMPTY: undefined } });

  it('re-declared global ARGs take the global value', () => {
    expect(resolveArgValue(p, 'VERSION', undefined)).toBe('1.0');
  });

  it('build args win over defaults', () => {
    expect(resolveArgValue(p, 'OTHER', 'dflt')).toBe('given');
  });

  it('falls back to the stage default, else unset', () => {
    expect(resolveArgValue(p, 'NEW', 'x')).toBe('x');
    expect(resolveArgValue(p, 'NEW', undefined)).toBeUndefined();
    expect(resolveArgValue(p, 'EMPTY', undefined)).toBeUndefined();
  });
});

describe('resolveCopyFrom', () => {
  const df = parseDockerfile('FROM a AS base\nFROM b\nFROM c');

  it('resolves names, indexes and images', () => {
    expect(resolveCopyFrom(df, 2, 'base')).toEqual({ stage: 0 });
    expect(resolveCopyFrom(df, 2, '1')).toEqual({ stage: 1 });
    expect(resolveCopyFrom(df, 2, 'busybox')).toEqual({ image: 'busybox' });
    expect(resolveCopyFrom(df, 2, '99999999999999999999')).toEqual({ image: '99999999999999999999' });
  });
});
