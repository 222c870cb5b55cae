import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logger on stdout. Callers log names, ids and reasons only — never
 * values, data keys or private keys; error objects are logged by message.
 */
export function createLogger(level: string): Logger {
  return pino({ level, base: { component: 'sealbox-controller' }, timestamp: pino.stdTimeFunctions.isoTime });
}
