// The daily queue's presentation logic, kept out of the component so it is
// tested without a window.
import type { Composed, QueueEntry, QueueSection } from "../lib/bindings";

/** The associate's local day as the core expects it (YYYY-MM-DD). */
export function localDay(d: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** The day after `day` (YYYY-MM-DD), for "snooze until tomorrow". */
export function nextDay(day: string): string {
  const [y, m, d] = day.split("-").map(Number);
  return localDay(new Date(y, m - 1, d + 1));
}

/** Entries grouped by section. The core lists them section by section, in
 * the order an associate works through them; this only cuts the list. */
export function groupQueue(entries: QueueEntry[]): { section: QueueSection; entries: QueueEntry[] }[] {
  const groups: { section: QueueSection; entries: QueueEntry[] }[] = [];
  for (const e of entries) {
    const last = groups.at(-1);
    if (last?.section === e.section) last.entries.push(e);
    else groups.push({ section: e.section, entries: [e] });
  }
  return groups;
}

/** The draft to save and send for an entry, with the associate's edits. */
export function draftFor(entry: QueueEntry, body: string): Composed {
  return {
    customer_id: entry.customer_id,
    content_id: entry.content_id,
    language: entry.draft_language,
    body: body.trim(),
    reasons: [...entry.reasons],
  };
}
