import { exposedPorts, isValidStopSignal } from './config-values';

describe('exposedPorts', () => {
  it.each([
    ['80', ['80/tcp']],
    ['80/tcp', ['80/tcp']],
    ['53/UDP', ['53/udp']],
    ['9/sctp', ['9/sctp']],
    ['80/', ['80/tcp']],
    ['8000-8002', ['8000/tcp', '8001/tcp', '8002/tcp']],
    ['7000-7001/udp', ['7000/udp', '7001/udp']],
    ['5000-5000', ['5000/tcp']],
    ['8080:80', ['80/tcp']],
    ['127.0.0.1:8080:80/udp', ['80/udp']],
    ['[::1]:8080:80', ['80/tcp']],
    ['0', ['0/tcp']],
  ])('%s exposes %j', (spec, ports) => {
    expect(exposedPorts(spec)).toEqual(ports);
  });

  it.each([
    ['abc', 'invalid containerPort: abc'],
    ['65536', 'invalid containerPort: 65536'],
    ['90-80', 'invalid containerPort: 90-80'],
    ['80/icmp', 'invalid proto: icmp'],
    ['/tcp', 'no port specified: /tcp<empty>'],
    ['', 'no port specified: <empty>'],
    ['x:80', 'invalid hostPort: x'],
    ['1.2.3.999:80:80', 'invalid IP address: 1.2.3.999'],
    ['8000-8001:80-82', 'invalid ranges specified for container and host Ports: 80-82 and 8000-8001'],
  ])('refuses %j: %s', (spec, message) => {
    expect(() => exposedPorts(spec)).toThrow(message);
  });
});

describe('isValidStopSignal', () => {
  it.each(['SIGTERM', 'TERM', 'sigkill', 'Sigusr1', '9', '15', 'RTMIN', 'SIGRTMIN+3', 'RTMAX-14', '-1', 'SIGCLD'])('accepts %s', (signal) => {
    expect(isValidStopSignal(signal)).toBe(true);
  });

  it.each(['0', 'SIGFOO', 'SIGSIGTERM', '', 'RTMIN+16', 'TERM ', '99999999999999999999'])('refuses %j', (signal) => {
    expect(isValidStopSignal(signal)).toBe(false);
  });
});
