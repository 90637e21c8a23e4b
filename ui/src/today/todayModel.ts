// The daily queue's presentation logic, kept out of the component so it is
// tested without a window.
import type { Composed, QueueEntry } from "../lib/bindings";

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

export type Section = "follow_up" | "occasion" | "care" | "new_arrival" | "quiet";

export function sectionOf(kind: string): Section {
  switch (kind) {
    case "follow_up":
      return "follow_up";
    case "birthday":
    case "anniversary":
      return "occasion";
    case "aftercare":
    case "care_month":
      return "care";
    case "new_arrival":
      return "new_arrival";
    default:
      return "quiet";
  }
}

const ORDER: Section[] = ["follow_up", "occasion", "care", "new_arrival", "quiet"];

/** Entries grouped by section, in the order an associate works through them. */
export function groupQueue(entries: QueueEntry[]): { section: Section; entries: QueueEntry[] }[] {
  return ORDER.map((section) => ({ section, entries: entries.filter((e) => sectionOf(e.kind) === section) })).filter(
    (g) => g.entries.length > 0,
  );
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
