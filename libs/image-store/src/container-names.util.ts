import { randomBytes, randomInt } from 'node:crypto';
import { invalid } from './image-store.errors';

/** dockerd's allowed characters, quoted in its error text. */
export const CONTAINER_NAME_CHARS = '[a-zA-Z0-9][a-zA-Z0-9_.-]';
const CONTAINER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
/** The database column's bound; dockerd has none, but no real name comes near it. */
export const CONTAINER_NAME_MAX = 255;

/**
 * A name as `docker create --name` gives it, checked as dockerd does (one leading `/` is
 * allowed and dropped; at least two characters). Returns the name without the slash; the
 * error quotes the name exactly as given.
 */
export function validateContainerName(given: string): string {
  const name = given.startsWith('/') ? given.slice(1) : given;
  if (!CONTAINER_NAME.test(name)) throw invalid(`Invalid container name (${given}), only ${CONTAINER_NAME_CHARS} are allowed`);
  if (name.length > CONTAINER_NAME_MAX) throw invalid(`Invalid container name (${given}): longer than ${CONTAINER_NAME_MAX} characters`);
  return name;
}

// Our own short lists in dockerd's `adjective_surname` style (surnames of scientists and engineers).
const ADJECTIVES = [
  'amber', 'brisk', 'calm', 'candid', 'cheerful', 'curious', 'daring', 'deft', 'eager', 'earnest',
  'fearless', 'gentle', 'gifted', 'glad', 'hardy', 'honest', 'humble', 'jolly', 'keen', 'kind',
  'lively', 'lucid', 'merry', 'mindful', 'modest', 'nimble', 'noble', 'patient', 'plucky', 'polite',
  'quiet', 'radiant', 'serene', 'sharp', 'shy', 'sincere', 'sleepy', 'steady', 'stoic', 'sunny',
  'swift', 'tender', 'tidy', 'upbeat', 'vivid', 'warm', 'wise', 'witty', 'zealous', 'zesty',
];
const SURNAMES = [
  'agnesi', 'babbage', 'bardeen', 'bohr', 'boole', 'cannon', 'carson', 'cerf', 'clarke', 'cori',
  'curie', 'darwin', 'dijkstra', 'einstein', 'euler', 'faraday', 'fermi', 'feynman', 'franklin', 'galileo',
  'gauss', 'goodall', 'hamilton', 'hawking', 'hodgkin', 'hopper', 'hypatia', 'johnson', 'kepler', 'knuth',
  'lamarr', 'leavitt', 'liskov', 'lovelace', 'maxwell', 'mcclintock', 'meitner', 'mendel', 'noether', 'pascal',
  'pasteur', 'planck', 'ritchie', 'sagan', 'shannon', 'somerville', 'tesla', 'thompson', 'turing', 'yalow',
];

/**
 * A random `adjective_surname` name as dockerd generates them; from the second attempt on, a
 * digit is appended, which is how dockerd makes a retry after a taken name likely to succeed.
 */
export function generateContainerName(attempt = 0): string {
  const name = `${ADJECTIVES[randomInt(ADJECTIVES.length)]}_${SURNAMES[randomInt(SURNAMES.length)]}`;
  return attempt > 0 ? `${name}${randomInt(10)}` : name;
}

/**
 * A new container ID: 32 random bytes in hex. Like dockerd, never one whose 12-character short
 * form is all digits, since the CLI and users would read it as a number.
 */
export function generateContainerId(): string {
  for (;;) {
    const id = randomBytes(32).toString('hex');
    if (!/^\d{12}$/.test(id.slice(0, 12))) return id;
  }
}

/** `abc…` → the 12-character short ID dockerd prints. */
export function shortContainerId(id: string): string {
  return id.slice(0, 12);
}
