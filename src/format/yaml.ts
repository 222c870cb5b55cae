import { LineCounter, isCollection, isScalar, parseAllDocuments, stringify, visit } from 'yaml';
import type { Document } from 'yaml';
import { SealboxError } from '../errors.js';

/** Largest input sealbox reads, in bytes: far above any real manifest, far below memory trouble. */
export const MAX_INPUT_BYTES = 64 * 1024 * 1024;
/** Alias expansions allowed per document; stops "billion laughs" bombs. */
const MAX_ALIAS_COUNT = 100;
/** Deepest nesting accepted in a document. */
const MAX_DEPTH = 64;

/** One parsed document of a multi-document input. */
export interface SourceDocument {
  /** 1-based position in the input, for messages. */
  readonly index: number;
  /** Plain value of the document; null for an empty document. */
  readonly value: unknown;
  /** The YAML AST, kept so in-place edits preserve every untouched line. */
  readonly doc: Document.Parsed;
  /** 1-based line of the input at which the document's content starts. */
  readonly line: number;
  /** 1-based line of the input holding character `offset` (a node's `range[0]`). */
  readonly lineAt: (offset: number) => number;
}

function depthOf(v: unknown, depth = 0): number {
  if (depth > MAX_DEPTH || v === null || typeof v !== 'object') return depth;
  let max = depth;
  for (const child of Object.values(v as Record<string, unknown>)) {
    max = Math.max(max, depthOf(child, depth + 1));
    if (max > MAX_DEPTH) break;
  }
  return max;
}

/** Offset of the first mapping key that is a mapping or list (`? {a: b}`), if any. */
function collectionKeyOffset(doc: Document.Parsed): number | undefined {
  let offset: number | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isCollection(pair.key)) {
        offset = pair.key.range?.[0] ?? 0;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return offset;
}

/** The tags of YAML 1.2's core schema: the only explicit tags accepted. */
const CORE_TAGS: ReadonlySet<string> = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/**
 * Returns why a document uses YAML that Kubernetes' decoder may read
 * differently from sealbox, and where; undefined when it does not. kubectl
 * reads YAML 1.1 and honours merge keys (`<<`) in any document, while sealbox
 * reads YAML 1.2; tags and directives change how a value is read. So the
 * only dialect accepted is the one both read alike: no directives, no merge
 * keys, no tags beyond the core schema's.
 */
function dialectProblem(doc: Document.Parsed): { reason: string; offset: number } | undefined {
  const start = doc.range[0];
  if (doc.directives.yaml.explicit === true) return { reason: 'a %YAML directive', offset: start };
  const tags = doc.directives.tags;
  if (Object.keys(tags).some((h) => h !== '!!') || tags['!!'] !== 'tag:yaml.org,2002:' || doc.warnings.some((w) => w.code === 'BAD_DIRECTIVE')) {
    return { reason: 'a %TAG or unknown directive', offset: start };
  }
  let found: { reason: string; offset: number } | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isScalar(pair.key) && (pair.key.value === '<<' || pair.key.source === '<<')) {
        found = { reason: 'a merge key (<<)', offset: pair.key.range?.[0] ?? 0 };
        return visit.BREAK;
      }
      return undefined;
    },
    Node(_, node) {
      if (node.tag !== undefined && !CORE_TAGS.has(node.tag)) {
        found = { reason: `the tag ${JSON.stringify(node.tag.slice(0, 64))}`, offset: node.range?.[0] ?? 0 };
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/**
 * Parses YAML or JSON text holding one or more documents. Returns every
 * non-empty document. Throws SealboxError('INPUT') naming `source` and the
 * document for syntax errors, oversized input, alias bombs, deep nesting,
 * mapping keys that are collections, and YAML that kubectl may read
 * differently (directives, merge keys, tags outside the core schema).
 */
export function parseDocuments(text: string, source: string): SourceDocument[] {
  if (Buffer.byteLength(text, 'utf8') > MAX_INPUT_BYTES) {
    throw new SealboxError('INPUT', `${source}: larger than ${MAX_INPUT_BYTES / 1024 / 1024} MiB; split it into smaller files`);
  }
  const lineCounter = new LineCounter();
  // logLevel 'error': the yaml library would print warnings (with a piece of
  // the document, maybe a secret) to stderr through process.emitWarning.
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false, logLevel: 'error' });
  if (!Array.isArray(docs)) {
    // An empty stream yields a single EmptyStream object.
    return [];
  }
  const out: SourceDocument[] = [];
  docs.forEach((doc, i) => {
    const index = i + 1;
    const err = doc.errors[0];
    if (err) {
      const pos = lineCounter.linePos(err.pos[0]);
      const reason = err.code === 'DUPLICATE_KEY' ? 'duplicate key' : err.message.split('\n')[0] ?? 'syntax error';
      throw new SealboxError('INPUT', `${source} document ${index}: invalid YAML at line ${pos.line}, column ${pos.col}: ${reason}`);
    }
    const dialect = dialectProblem(doc);
    if (dialect !== undefined) {
      // A directive sits on its own line before the document's "---".
      const at = dialect.offset === doc.range[0] ? Math.max(0, text.lastIndexOf('\n%', dialect.offset) + 1) : dialect.offset;
      const pos = lineCounter.linePos(at);
      throw new SealboxError('INPUT', `${source} document ${index}: ${dialect.reason} at line ${pos.line}, column ${pos.col}; sealbox reads only plain YAML 1.2 (no directives, merge keys or tags beyond !!str, !!int, !!float, !!bool, !!null, !!map, !!seq), so that kubectl cannot read it differently: write the values out`);
    }
    const complexKey = collectionKeyOffset(doc);
    if (complexKey !== undefined) {
      const pos = lineCounter.linePos(complexKey);
      throw new SealboxError('INPUT', `${source} document ${index}: the mapping key at line ${pos.line}, column ${pos.col} is itself a mapping or list; Kubernetes manifests use plain keys`);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (cause) {
      throw new SealboxError('INPUT', `${source} document ${index}: too many YAML alias expansions (a "billion laughs" document?); write the values out`, { cause });
    }
    if (depthOf(value) > MAX_DEPTH) {
      throw new SealboxError('INPUT', `${source} document ${index}: nested deeper than ${MAX_DEPTH} levels; this is not a Kubernetes manifest`);
    }
    const lineAt = (offset: number): number => lineCounter.linePos(offset).line;
    const line = lineAt(doc.contents?.range[0] ?? doc.range[0]);
    if (value !== null && value !== undefined) out.push({ index, value, doc, line, lineAt });
  });
  return out;
}

/**
 * The 1-based line of the first problem `parseDocuments` would refuse in
 * `text` (a syntax error or a collection key), or the first line of the
 * document it stops at; 1 when it finds none. For reports that point at a line.
 */
export function problemLine(text: string): number {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false, logLevel: 'error' });
  if (!Array.isArray(docs)) return 1;
  for (const doc of docs) {
    const offset = doc.errors[0]?.pos[0] ?? collectionKeyOffset(doc);
    if (offset !== undefined) return lineCounter.linePos(offset).line;
  }
  return 1;
}

/** Output encodings of manifests. */
export type OutputFormat = 'yaml' | 'json';

/**
 * Serialises manifests as multi-document YAML (`---` between documents) or as
 * JSON (one object, or a `v1 List` when there are several). Long strings are
 * never folded, so a changed value is exactly one changed line.
 */
export function stringifyDocuments(values: readonly unknown[], format: OutputFormat): string {
  if (format === 'json') {
    const body = values.length === 1 ? values[0] : { apiVersion: 'v1', kind: 'List', items: values };
    return `${JSON.stringify(body, null, 2)}\n`;
  }
  return values.map((v) => stringify(v, { lineWidth: 0, minContentWidth: 0 })).join('---\n');
}

/** Serialises an edited YAML document, keeping its layout; long strings are never folded. */
export function stringifyDocument(doc: Document): string {
  return doc.toString({ lineWidth: 0, minContentWidth: 0 });
}
