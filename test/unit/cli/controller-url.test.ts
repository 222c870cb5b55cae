import { describe, expect, it } from 'vitest';
import { controllerBase } from '../../../cli/cluster.js';
import { SealboxError } from '../../../src/errors.js';

describe('controllerBase', () => {
  it.each([
    ['http://127.0.0.1:8080/', 'http://127.0.0.1:8080'],
    ['http://127.9.8.7:8080', 'http://127.9.8.7:8080'],
    ['http://localhost:8080', 'http://localhost:8080'],
    ['http://LOCALHOST:8080', 'http://LOCALHOST:8080'],
    ['http://[::1]:8080', 'http://[::1]:8080'],
    ['https://controller.example', 'https://controller.example'],
  ])('accepts %s', (url, base) => {
    expect(controllerBase(url)).toBe(base);
  });

  it.each([
    'http://controller.example:8080',
    'http://10.0.0.1:8080',
    'http://0.0.0.0:8080',
    'http://127.0.0.1.nip.io:8080',
    'http://localhost.example:8080',
    // glibc sends `localhost.` to DNS, not /etc/hosts
    'http://localhost.:8080',
    'http://[::ffff:10.0.0.1]:8080',
    'ftp://127.0.0.1/',
    'not a url',
  ])('refuses %s as INPUT', (url) => {
    let err: unknown;
    try {
      controllerBase(url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SealboxError);
    expect((err as SealboxError).code).toBe('INPUT');
  });
});
