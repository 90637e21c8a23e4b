// Talk-script editing helpers that need no book. The placeholders come from
// the generated bindings; previews and typos from the core.
import type { TalkScript } from "../lib/bindings";

/** Inserts a placeholder at the cursor; returns the text and the new cursor. */
export function insertAt(text: string, start: number, end: number, ph: string): { text: string; cursor: number } {
  return { text: text.slice(0, start) + ph + text.slice(end), cursor: start + ph.length };
}

/** Scripts of one language, in the order the core lists purposes. */
export function forLanguage(all: TalkScript[], language: string): TalkScript[] {
  return all.filter((s) => s.language === language);
}
