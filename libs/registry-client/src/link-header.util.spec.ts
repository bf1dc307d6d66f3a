import { describe, expect, it } from 'vitest';
import { nextLink } from './link-header.util';

const base = 'http://127.0.0.1:5000/v2/app/tags/list?n=2';

describe('nextLink', () => {
  it('resolves a relative next link against the request URL', () => {
    expect(nextLink('</v2/app/tags/list?n=2&last=b>; rel="next"', base)?.toString()).toBe('http://127.0.0.1:5000/v2/app/tags/list?n=2&last=b');
  });

  it('keeps absolute links and unquoted rel values', () => {
    expect(nextLink('<https://other.example/v2/app/tags/list?last=c>;rel=next', base)?.toString()).toBe('https://other.example/v2/app/tags/list?last=c');
  });

  it('picks rel="next" among several links, also from a rel list, ignoring commas inside <…> and quotes', () => {
    const header = '</v2/_catalog?last=a,b>; rel="prev", </v2/x?n=1&last=a,z>; title="a, b"; rel="first next"';
    expect(nextLink(header, base)?.toString()).toBe('http://127.0.0.1:5000/v2/x?n=1&last=a,z');
  });

  it('returns null without a next link', () => {
    expect(nextLink(null, base)).toBeNull();
    expect(nextLink('', base)).toBeNull();
    expect(nextLink('</v2/a>; rel="prev"', base)).toBeNull();
    expect(nextLink('no angle brackets; rel="next"', base)).toBeNull();
  });
});
