// KubeApi's client-side rate limit against the real API server: past the
// burst, requests go out no faster than the QPS, and every request sent is
// counted. (How long the burst is, and the order of waiting requests:
// test/unit/kube/token-bucket.test.ts; a real client's own work delays the
// burst's requests too much under load to time them here.)
import { describe, expect, it } from 'vitest';
import { KubeApi } from '../../src/kube/api.js';
import { kubeConfig, useNamespace } from '../cluster/helpers.js';

const ns = useNamespace('kube-qps');

describe('KubeApi', () => {
  it('holds back every request past its burst of 4 to 10 a second', async () => {
    const sent: number[] = [];
    const api = new KubeApi(kubeConfig(), { qps: 10, burst: 4, onRequest: () => { sent.push(performance.now()); } });
    const started = performance.now();
    const leases = await Promise.all(Array.from({ length: 10 }, (_, i) => api.getLease(ns.name, `none-${String(i)}`)));
    expect(leases).toEqual(Array<undefined>(10).fill(undefined));
    expect(sent).toHaveLength(10);
    // one token every 100 ms after the burst: the i-th request sent (from 4 on) waits (i - 3) tenths of a second
    sent.forEach((at, i) => { expect(at - started, `request ${String(i)}`).toBeGreaterThanOrEqual(Math.max(0, i - 3) * 100 - 5); });
  });
});
