/** Linux signal names moby/sys/signal accepts (without the `SIG` prefix). */
const LINUX_SIGNALS = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL',
  'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1',
  'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/**
 * True when dockerd's `signal.ParseSignal` accepts `raw`: a non-zero integer, or a Linux signal
 * name in any case, with or without `SIG`.
 */
export function isValidStopSignal(raw: string): boolean {
  if (/^[+-]?[0-9]+$/.test(raw)) return Number(raw) !== 0;
  const upper = raw.toUpperCase();
  return LINUX_SIGNALS.has(upper.startsWith('SIG') ? upper.slice(3) : upper);
}
