/**
 * A moto server (AWS KMS) of a test file's own, for files that need to stop
 * it (the `kms` project shares one, test/peers/kms-global-setup.ts): started
 * in `beforeAll` with its endpoint and test credentials put into this
 * process's environment, so a controller started afterwards (`useController`)
 * inherits them the way a pod gets its AWS settings; stopped and the
 * environment restored in `afterAll`. Call `useMoto` before `useController`,
 * so its hooks run first.
 *
 * An outage is `freeze()` (SIGSTOP: connections hang, as with a KMS behind a
 * firewall) and `thaw()` (SIGCONT) on the same port: a restarted moto would
 * have lost its keys, which it holds in memory only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll } from 'vitest';
import { AwsKmsKey } from '../../src/keys/aws-kms.js';
import type { Started } from './kms-servers.js';
import { startMoto } from './kms-servers.js';

/** Region of the keys made on the moto of `useMoto`. */
export const MOTO_REGION = 'eu-west-1';
/** moto's fixed account id, for `--kms-allow aws:ACCOUNT:REGION`. */
export const MOTO_ACCOUNT = '123456789012';

/** The moto server of a test file. */
export interface MotoPeer {
  /** `http://127.0.0.1:PORT` */
  readonly endpoint: string;
  /** A KMS client for it. */
  client(): KMSClient;
  /** Creates a KMS key on it; returns a sealbox key for it. */
  newKey(description?: string): Promise<AwsKmsKey>;
  /** Stops the process (SIGSTOP): calls hang until `thaw`. */
  freeze(): void;
  /** Continues it (SIGCONT). */
  thaw(): void;
}

/**
 * Starts moto for this test file and returns it (its fields throw until
 * `beforeAll` has run). `prefix` names its state folder.
 */
export function useMoto(prefix: string, startTimeoutMs = 180_000): MotoPeer {
  let moto: Started | undefined;
  let stateDir = '';
  const saved = new Map<string, string | undefined>();
  const started = (): Started => {
    if (moto === undefined) throw new Error('moto did not start');
    return moto;
  };
  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), `sealbox-${prefix}-`));
    moto = await startMoto({ stateDir });
    const env = { AWS_ENDPOINT_URL_KMS: moto.endpoint, AWS_REGION: MOTO_REGION, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
    for (const [k, v] of Object.entries(env)) {
      saved.set(k, process.env[k]);
      process.env[k] = v;
    }
  }, startTimeoutMs);
  afterAll(async () => {
    for (const [k, v] of saved) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
    if (moto !== undefined) {
      process.kill(moto.pid, 'SIGCONT');
      await moto.stop();
    }
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);
  const client = (): KMSClient => new KMSClient({ region: MOTO_REGION, endpoint: started().endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return {
    get endpoint() { return started().endpoint; },
    client,
    async newKey(description = `sealbox ${prefix}`) {
      const c = client();
      const out = await c.send(new CreateKeyCommand({ Description: description }));
      return new AwsKmsKey({ client: c, keyId: out.KeyMetadata?.Arn ?? '' });
    },
    freeze() { process.kill(started().pid, 'SIGSTOP'); },
    thaw() { process.kill(started().pid, 'SIGCONT'); },
  };
}
