/**
 * A list in pages (`limit`/`continue`), as client-go's pager: each page's
 * objects are handed over, one at a time, before the next page is fetched,
 * so no more than one page is ever in memory.
 */
import { isKubeStatus } from './errors.js';

/** One page of a list, as the API returns it. */
export interface ListPage<F> {
  readonly items: readonly F[];
  readonly metadata?: { readonly resourceVersion?: string; readonly _continue?: string };
}

/** What is listed and watched. */
export interface ListWatchSource<F> {
  /** Resource name for onRequest and messages: "sealedsecrets", "secrets". */
  readonly resource: string;
  /** The watched namespace, undefined for the whole cluster (for messages). */
  readonly namespace?: string;
  /** API path of the collection. */
  readonly path: string;
  readonly labelSelector?: string;
  /** Objects per page when the list comes in pages. */
  readonly pageSize: number;
  /** Fetches one page; fails with KubeError (410: the continue token expired). */
  listPage(limit: number, cont: string | undefined): Promise<ListPage<F>>;
}

/** What listInPages reports as it goes. */
export interface PagerHooks<F> {
  /** Before each page is requested. */
  readonly onRequest: () => void;
  /** When a continue token expired (410) and the list starts over from its first page. */
  readonly onRestart: () => void;
  /** Each object, in order; the next waits for the returned promise. */
  readonly onObject: (obj: F) => void | Promise<void>;
}

/** A list whose continue token keeps expiring is started again this many times, then fails. */
const LIST_ATTEMPTS = 3;

/**
 * Lists `source` in pages of `source.pageSize` and returns the list's
 * resourceVersion. A continue token that expired (410: the pages took
 * longer than etcd keeps old versions) starts the list again from its
 * first page, up to LIST_ATTEMPTS times in all; unlike client-go, never as
 * one unpaged list, which is what must not be parsed whole.
 * @throws KubeError of the failed page request
 */
export async function listInPages<F>(source: ListWatchSource<F>, hooks: PagerHooks<F>): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await listOnce(source, hooks);
    } catch (err) {
      if (!isKubeStatus(err, 410) || attempt >= LIST_ATTEMPTS) throw err;
      hooks.onRestart();
    }
  }
}

async function listOnce<F>(source: ListWatchSource<F>, hooks: PagerHooks<F>): Promise<string> {
  let cont: string | undefined;
  let rv = '';
  do {
    hooks.onRequest();
    const page = await source.listPage(source.pageSize, cont);
    for (const obj of page.items) await hooks.onObject(obj);
    rv = page.metadata?.resourceVersion ?? '';
    cont = page.metadata?._continue === '' ? undefined : page.metadata?._continue;
  } while (cont !== undefined);
  return rv;
}
