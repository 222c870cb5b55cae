/**
 * Flips one bit of a sealed value (`prefix:group:base64`) and re-encodes it, so
 * the text stays well-formed and only the authentication check can catch it.
 * A negative byte counts from the end (-1 is the last byte of the GCM tag).
 */
export function flipValueBit(value: string, byte = 20, mask = 0x01): string {
  const [prefix, group, body = ''] = value.split(':');
  const bytes = Buffer.from(body, 'base64');
  const at = byte < 0 ? bytes.length + byte : byte;
  bytes[at] = (bytes[at] ?? 0) ^ mask;
  return `${prefix ?? ''}:${group ?? ''}:${bytes.toString('base64')}`;
}
