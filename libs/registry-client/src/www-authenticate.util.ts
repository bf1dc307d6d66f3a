/** One challenge of a `WWW-Authenticate` header: scheme lower-cased, parameter names lower-cased. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const SPACE = /[ \t]/;

/**
 * Parses `WWW-Authenticate` values (RFC 7235), several challenges per value allowed:
 * `Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"`, `Basic realm="x"`.
 * Malformed parts are skipped rather than failing the whole header, as Go's parser does.
 */
export function parseWwwAuthenticate(values: string | string[] | null | undefined): AuthChallenge[] {
  if (values === null || values === undefined) return [];
  const list = Array.isArray(values) ? values : [values];
  return list.flatMap(parseOne);
}

function parseOne(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let i = 0;
  const skip = (re: RegExp): void => {
    while (i < header.length && re.test(header[i])) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < header.length && TOKEN_CHAR.test(header[i])) i++;
    return header.slice(start, i);
  };
  const quoted = (): string => {
    i++; // opening quote
    let out = '';
    while (i < header.length && header[i] !== '"') {
      if (header[i] === '\\' && i + 1 < header.length) i++;
      out += header[i++];
    }
    i++; // closing quote (or end of input)
    return out;
  };

  while (i < header.length) {
    skip(/[ \t,]/);
    const scheme = token();
    if (!scheme) {
      i++; // not a token: skip the character and look for the next challenge
      continue;
    }
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    skip(SPACE);
    for (;;) {
      const before = i;
      skip(/[ \t,]/);
      const name = token();
      skip(SPACE);
      if (!name || header[i] !== '=') {
        // No `name=`: the end, or the next challenge's scheme (read again by the outer loop).
        i = before;
        break;
      }
      i++; // '='
      skip(SPACE);
      const value = header[i] === '"' ? quoted() : token();
      challenge.params[name.toLowerCase()] = value;
      skip(SPACE);
      if (header[i] !== ',') break;
    }
    skip(SPACE);
  }
  return challenges;
}

/** The first challenge of `scheme` (`bearer`, `basic`), if any. */
export function findChallenge(challenges: AuthChallenge[], scheme: string): AuthChallenge | undefined {
  return challenges.find((c) => c.scheme === scheme);
}
