import { describe, expect, it } from 'vitest';
import { generateContainerId, generateContainerName, validateContainerName } from './container-names.util';
import { ImageStoreError } from './image-store.errors';

describe('validateContainerName', () => {
  it('accepts dockerd\'s names and drops one leading slash', () => {
    expect(validateContainerName('web')).toBe('web');
    expect(validateContainerName('/web')).toBe('web');
    expect(validateContainerName('Web_1.a-b')).toBe('Web_1.a-b');
    expect(validateContainerName('9x')).toBe('9x');
  });

  it.each(['a', '/a', '_x', '.x', '-x', 'bad name', 'a/b', '//web', 'wéb', ''])('refuses %j with dockerd\'s 400 text', (name) => {
    let error: unknown;
    try {
      validateContainerName(name);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ImageStoreError);
    expect((error as ImageStoreError).kind).toBe('invalid');
    expect((error as ImageStoreError).message).toBe(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  });

  it('refuses names longer than the column holds', () => {
    expect(() => validateContainerName('a'.repeat(256))).toThrow('longer than 255 characters');
    expect(validateContainerName('a'.repeat(255))).toHaveLength(255);
  });
});

describe('generateContainerName', () => {
  it('makes valid adjective_surname names, with a digit on retries', () => {
    const names = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const first = generateContainerName();
      expect(first).toMatch(/^[a-z]+_[a-z]+$/);
      expect(validateContainerName(first)).toBe(first);
      names.add(first);
      expect(generateContainerName(1)).toMatch(/^[a-z]+_[a-z]+[0-9]$/);
    }
    expect(names.size).toBeGreaterThan(50); // random, from a few thousand combinations
  });
});

describe('generateContainerId', () => {
  it('is 64 hex characters whose short form is never all digits', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const id = generateContainerId();
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(id.slice(0, 12)).not.toMatch(/^\d{12}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(500);
  });
});
