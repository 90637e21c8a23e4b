// The customer list's state: the query, a sparse cache of fetched pages, and
// the total. Scrolling asks for a range; only missing pages are fetched. A
// new query drops the cache and any answer to an older query.
import type { CustomerRow, ListQuery, ListSort } from "../lib/bindings";
import type { BookApi } from "../lib/backend";
import { errorText } from "../i18n/errors";

/** Rows per request: a 1080p list with its scrolling margin (19 rows) fits in
 * one; every keystroke fetches, parses and renders no more than that. */
export const PAGE = 24;

export type ListBackend = Pick<BookApi, "listCustomers">;

export class CustomerListModel {
  text = $state("");
  tag = $state<string | null>(null);
  tagGroup = $state<string | null>(null);
  stage = $state<string | null>(null);
  owner = $state<string | null>(null);
  sort = $state<ListSort>("relevance");
  total = $state(0);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** Bumped whenever rows change, so the view re-reads `row(i)`. */
  version = $state(0);
  /** The search text the shown rows answer (lags `text` while a query runs). */
  shownText = $state<string | null>(null);

  // Plain maps on purpose: `version` is the one reactive signal for rows.
  /* eslint-disable svelte/prefer-svelte-reactivity */
  #pages = new Map<number, CustomerRow[]>();
  #pending = new Map<number, Promise<void>>();
  /* eslint-enable svelte/prefer-svelte-reactivity */
  #generation = 0;
  #backend: ListBackend;

  constructor(backend: ListBackend) {
    this.#backend = backend;
  }

  query(): ListQuery {
    return {
      text: this.text,
      tag: this.tag,
      tag_group: this.tagGroup,
      stage: this.stage,
      owner: this.owner,
      sort: this.sort,
    };
  }

  get filtered(): boolean {
    return !!(this.text.trim() || this.tag || this.tagGroup || this.stage || this.owner);
  }

  row(index: number): CustomerRow | undefined {
    return this.#pages.get(Math.floor(index / PAGE))?.[index % PAGE];
  }

  /** Re-runs the query from the top (after typing, a filter, or a write). */
  async refresh(): Promise<void> {
    this.#generation++;
    this.#pages.clear();
    this.#pending.clear();
    await this.#fetch(0, this.#generation);
  }

  /** Makes sure rows `start..end` are loaded. */
  async ensure(start: number, end: number): Promise<void> {
    const first = Math.max(0, Math.floor(start / PAGE));
    const last = Math.floor(Math.max(start, end - 1) / PAGE);
    const waits: Promise<void>[] = [];
    for (let p = first; p <= last; p++) {
      if (p * PAGE >= this.total && p > 0) break;
      if (!this.#pages.has(p)) waits.push(this.#fetch(p, this.#generation));
    }
    await Promise.all(waits);
  }

  clearFilters(): void {
    this.text = "";
    this.tag = null;
    this.tagGroup = null;
    this.stage = null;
    this.owner = null;
    this.sort = "relevance";
  }

  #fetch(page: number, generation: number): Promise<void> {
    const existing = this.#pending.get(page);
    if (existing) return existing;
    const query = this.query();
    const p = this.#backend
      .listCustomers(query, page * PAGE, PAGE)
      .then((result) => {
        if (generation !== this.#generation) return; // an older query answered late
        this.#pages.set(page, result.rows);
        this.total = result.total;
        if (page === 0) this.shownText = query.text ?? "";
        this.loaded = true;
        this.error = null;
        this.version++;
      })
      .catch((e: unknown) => {
        if (generation !== this.#generation) return;
        this.error = errorText(e);
      })
      .finally(() => {
        if (generation === this.#generation) this.#pending.delete(page);
      });
    this.#pending.set(page, p);
    return p;
  }
}

/**
 * Search-as-you-type that waits for input methods: while a Chinese IME is
 * composing (typing "zhang" before picking 张) nothing is searched; the
 * committed text is.
 */
export class CompositionAwareInput {
  composing = false;
  #onCommit: (text: string) => void;

  constructor(onCommit: (text: string) => void) {
    this.#onCommit = onCommit;
  }

  compositionStart(): void {
    this.composing = true;
  }

  compositionEnd(text: string): void {
    this.composing = false;
    this.#onCommit(text);
  }

  input(text: string, isComposing: boolean): void {
    if (this.composing || isComposing) return;
    this.#onCommit(text);
  }
}
