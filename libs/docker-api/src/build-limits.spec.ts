import { buildLimits } from './build.controller';

const MiB = 1024 * 1024;

describe('buildLimits (docker build --memory, --cpu-*, --shm-size)', () => {
  it('reads nothing from the zeros the docker CLI sends for options not given', () => {
    expect(buildLimits({ memory: '0', memswap: '0', cpushares: '0', cpuperiod: '0', cpuquota: '0', cpusetcpus: '', shmsize: '0' })).toBeUndefined();
    expect(buildLimits({})).toBeUndefined();
  });

  it('passes limits on in bytes and µs, with as much swap again as memory when no swap limit is given (dockerd)', () => {
    expect(buildLimits({ memory: String(64 * MiB), cpushares: '512', cpuperiod: '100000', cpuquota: '50000', cpusetcpus: '0-1,3', shmsize: String(16 * MiB) })).toEqual({
      memory: 64 * MiB,
      memorySwap: 128 * MiB,
      cpuShares: 512,
      cpuPeriod: 100_000,
      cpuQuota: 50_000,
      cpusetCpus: '0-1,3',
      shmSize: 16 * MiB,
    });
    expect(buildLimits({ memory: String(64 * MiB), memswap: '-1' })).toEqual({ memory: 64 * MiB, memorySwap: -1 });
  });

  it("refuses what dockerd refuses, with dockerd's texts", () => {
    expect(() => buildLimits({ memory: String(5 * MiB) })).toThrow('Minimum memory limit allowed is 6MB');
    expect(() => buildLimits({ memswap: String(64 * MiB) })).toThrow('You should always set the Memory limit when using Memoryswap limit, see usage');
    expect(() => buildLimits({ memory: String(64 * MiB), memswap: String(32 * MiB) })).toThrow('Minimum memoryswap limit should be larger than memory limit, see usage');
    expect(() => buildLimits({ cpuperiod: '999' })).toThrow('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)');
    expect(() => buildLimits({ cpuquota: '999' })).toThrow('CPU cfs quota can not be less than 1ms (i.e. 1000)');
    expect(() => buildLimits({ cpusetcpus: 'all' })).toThrow('Invalid value all for cpuset cpus');
    expect(() => buildLimits({ memory: '64m' })).toThrow('invalid memory: 64m is not an integer');
  });
});
