import { describe, expect, it } from 'vitest';
import { apiServerRefusal } from '../../../cli/cluster.js';

const status = (code: number, reason: string, message?: string): string =>
  JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason, code, ...(message === undefined ? {} : { message }) });

describe('apiServerRefusal', () => {
  it.each([
    [403, status(403, 'Forbidden', 'services "sealbox-controller:http" is forbidden: User "u" cannot create resource "services/proxy"'), 'services "sealbox-controller:http" is forbidden: User "u" cannot create resource "services/proxy"'],
    [401, status(401, 'Unauthorized', 'Unauthorized'), 'Unauthorized'],
    [403, status(403, 'Forbidden'), 'Forbidden'],
  ])('reads the API server\'s own refusal (HTTP %i) as such', (code, body, message) => {
    expect(apiServerRefusal(code, body)).toBe(message);
  });

  it.each([
    [200, status(403, 'Forbidden', 'x')],
    [422, JSON.stringify({ error: 'no key', code: 'NO_KEY' })],
    [403, 'error: forbidden'],
    [403, JSON.stringify({ kind: 'Status', reason: 'ServiceUnavailable', message: 'no endpoints available' })],
    [503, status(503, 'ServiceUnavailable', 'no endpoints available for service "sealbox-controller:http"')],
  ])('leaves HTTP %i with %s to the caller', (code, body) => {
    expect(apiServerRefusal(code, body)).toBeUndefined();
  });

  it('keeps a hostile message to one printable line', () => {
    const out = apiServerRefusal(403, status(403, 'Forbidden', `a\nb\u001b[31m${'x'.repeat(1000)}`)) ?? '';
    expect(out.includes('\n') || out.includes('\u001b')).toBe(false);
    expect(out.length).toBeLessThanOrEqual(300);
  });
});
