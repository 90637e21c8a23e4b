import { expect, it } from "vitest";
import { buildTimeline } from "./timeline";

it("interleaves notes and touchpoints, newest first", () => {
  const note = (id: string, at: string) => ({ id, customer_id: "c", body: id, author: null, created_at: at, edited_at: null, revisions: [] });
  const touch = (id: string, at: string) => ({ id, customer_id: "c", at, channel: "wecom", kind: "service", content_id: null, message: null, author: null });
  const t = buildTimeline(
    [note("n1", "2026-01-01T10:00:00Z"), note("n2", "2026-03-01T10:00:00Z")],
    [touch("t1", "2026-02-01T10:00:00+08:00")],
  );
  expect(t.map((e) => (e.kind === "note" ? e.note.id : e.touchpoint.id))).toEqual(["n2", "t1", "n1"]);
});
