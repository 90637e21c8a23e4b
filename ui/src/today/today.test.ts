import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import type { QueueEntry, QueueSection } from "../lib/bindings";
import { FakeBackend } from "../lib/fakeBackend";
import { i18n } from "../i18n/index.svelte";
import TodayView from "./TodayView.svelte";
import { draftFor, groupQueue, localDay, nextDay } from "./todayModel";

/** The core's section for each kind, as it would send it. */
const SECTION: Record<string, QueueSection> = {
  follow_up: "follow_up", birthday: "occasion", anniversary: "occasion", aftercare: "care", new_arrival: "new_arrival",
};

function entry(kind: string, over: Partial<QueueEntry> = {}): QueueEntry {
  return {
    key: `${kind}:c1:2026-11-28`, kind, section: SECTION[kind] ?? "quiet", customer_id: "c1", name: "王丽", due: "2026-11-28",
    reasons: ["生日还有 4 天"], content_id: null, draft: "王女士您好", draft_language: "zh-Hans", promotion: false,
    ...over,
  };
}

describe("todayModel", () => {
  it("cuts the core's list into its sections, keeping its order", () => {
    const groups = groupQueue([entry("follow_up"), entry("birthday"), entry("anniversary"), entry("aftercare"), entry("quiet")]);
    expect(groups.map((g) => [g.section, g.entries.length])).toEqual([["follow_up", 1], ["occasion", 2], ["care", 1], ["quiet", 1]]);
    expect(groupQueue([])).toEqual([]);
  });

  it("formats local days and moves to the next one across months", () => {
    expect(localDay(new Date(2026, 10, 5))).toBe("2026-11-05");
    expect(nextDay("2026-11-30")).toBe("2026-12-01");
    expect(nextDay("2026-12-31")).toBe("2027-01-01");
  });

  it("sends what the associate edited, trimmed", () => {
    const d = draftFor(entry("birthday", { content_id: "p-rose" }), "  改过的话  ");
    expect(d).toMatchObject({ customer_id: "c1", content_id: "p-rose", body: "改过的话", language: "zh-Hans" });
  });
});

describe("TodayView", () => {
  it("shows each entry with its reasons and draft; sending logs it and removes it", async () => {
    i18n.locale = "zh-Hans";
    const fake = new FakeBackend(["王丽"]);
    const id = [...fake.records.keys()][0];
    fake.records.get(id)!.consent_marketing = true;
    fake.queue = [entry("birthday", { customer_id: id, key: `birthday:${id}:2026-11-28`, content_id: "p-rose", promotion: true })];
    render(TodayView, { backend: fake.api(), onopen: () => {} });
    await screen.findByText("生日还有 4 天");
    expect(screen.getByText("生日与纪念日")).toBeTruthy();
    const text = screen.getByRole("textbox") as HTMLTextAreaElement;
    expect(text.value).toBe("王女士您好");
    await fireEvent.input(text, { target: { value: "王女士您好，周末见" } });
    await fireEvent.click(screen.getByRole("button", { name: "复制并记录" }));
    await waitFor(() => expect(fake.calls).toContain("sendDraft"));
    expect(fake.drafts[0]).toMatchObject({ body: "王女士您好，周末见", status: "sent" });
    await screen.findByText("今天没有要联系的人。");
  });

  it("says why a send was refused, and snoozing hides the entry", async () => {
    i18n.locale = "en";
    const fake = new FakeBackend(["李娜"]);
    const id = [...fake.records.keys()][0];
    fake.queue = [
      entry("aftercare", { customer_id: id, key: `aftercare:${id}:x`, reasons: ["bought the pearl studs 3 days ago"] }),
      entry("new_arrival", { customer_id: id, key: `new_arrival:${id}:p-rose`, content_id: "p-rose", promotion: true }),
    ];
    // The guard refuses her a promotion, as the core would.
    fake.refuse("sendDraft", { code: "no_consent", message: "未同意营销信息：只发服务消息" });
    render(TodayView, { backend: fake.api(), onopen: () => {} });
    const sends = await screen.findAllByRole("button", { name: "Copy and log" });
    await fireEvent.click(sends[1]);
    await screen.findByRole("alert");
    expect(screen.getByRole("alert").textContent).toContain("未同意营销信息");
    const snoozes = screen.getAllByRole("button", { name: "Tomorrow" });
    await fireEvent.click(snoozes[0]);
    await waitFor(() => expect(screen.queryByText("bought the pearl studs 3 days ago")).toBeNull());
  });
});
