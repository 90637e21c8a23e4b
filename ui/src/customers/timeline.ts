// Notes and touchpoints as one timeline, newest first.
import type { Note, Touchpoint } from "../lib/bindings";

export type TimelineEntry = { kind: "note"; at: string; note: Note } | { kind: "touchpoint"; at: string; touchpoint: Touchpoint };

export function buildTimeline(notes: Note[], touchpoints: Touchpoint[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [
    ...notes.map((note) => ({ kind: "note" as const, at: note.created_at, note })),
    ...touchpoints.map((touchpoint) => ({ kind: "touchpoint" as const, at: touchpoint.at, touchpoint })),
  ];
  // RFC 3339 in UTC sorts as text; parse anyway in case offsets differ.
  return entries.sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || (a.kind === b.kind ? 0 : a.kind === "note" ? -1 : 1));
}
