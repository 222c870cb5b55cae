import { describe, expect, it } from 'vitest';
import { ConcurrencyGate, RewrapGate, clientOf } from '../../../src/controller/admission.js';

describe('ConcurrencyGate', () => {
  it('gives each client its own places within the overall count, and frees a place once however often released', () => {
    const gate = new ConcurrencyGate(3, 2);
    const a1 = gate.take('a');
    expect(a1).toBeTypeOf('function');
    expect(gate.take('a')).toBeTypeOf('function');
    expect(gate.take('a')).toBeUndefined();
    expect(gate.take('b')).toBeTypeOf('function');
    expect(gate.take('c')).toBeUndefined(); // 3 overall
    a1?.();
    a1?.();
    expect(gate.take('c')).toBeTypeOf('function');
    expect(gate.take('c')).toBeUndefined();
  });
});

describe('RewrapGate', () => {
  const limits = { concurrency: 3, perClientConcurrency: 1, rate: 1000, perClientRate: 1000 };

  it('admits one request per client at a time and frees the slot on release', () => {
    const gate = new RewrapGate(limits);
    const a = gate.admit('a');
    expect(a).toBeTypeOf('function');
    expect(gate.admit('a')).toBeUndefined();
    expect(gate.admit('b')).toBeTypeOf('function');
    a?.();
    a?.();
    expect(gate.admit('a')).toBeTypeOf('function');
  });

  it('admits no more than the overall limit, whoever asks', () => {
    const gate = new RewrapGate(limits);
    expect(['a', 'b', 'c', 'd'].map((c) => gate.admit(c) !== undefined)).toEqual([true, true, true, false]);
  });

  it('limits the rate per client and overall', () => {
    const gate = new RewrapGate({ concurrency: 100, perClientConcurrency: 100, rate: 2, perClientRate: 1 });
    expect([1, 2, 3].map(() => gate.admit('a') !== undefined)).toEqual([true, true, false]);
    expect([1, 2, 3].map(() => gate.admit('b') !== undefined)).toEqual([true, true, false]);
    expect(gate.admit('c')).toBeUndefined(); // 'a' and 'b' spent the overall burst of 4
  });

  it('keeps no slot for a request refused for its rate', () => {
    const gate = new RewrapGate({ concurrency: 1, perClientConcurrency: 1, rate: 1000, perClientRate: 0.5 });
    gate.admit('a')?.();
    expect(gate.admit('a')).toBeUndefined(); // its burst of 1 is spent
    expect(gate.admit('b')).toBeTypeOf('function');
  });
});

describe('clientOf', () => {
  it.each<[string | undefined, string | string[] | undefined, string]>([
    ['10.0.0.1', undefined, '10.0.0.1'],
    ['10.0.0.1', '', '10.0.0.1'],
    ['10.0.0.1', '1.2.3.4', '10.0.0.1>1.2.3.4'],
    ['10.0.0.1', 'spoofed, 1.2.3.4', '10.0.0.1>1.2.3.4'],
    ['10.0.0.1', ['spoofed', '1.2.3.4'], '10.0.0.1>1.2.3.4'],
  ])('names a request from %j with X-Forwarded-For %j as %j', (peer, xff, want) => {
    expect(clientOf(peer, xff)).toBe(want);
  });
});
