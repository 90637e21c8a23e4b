import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { FakeBackend } from "../lib/fakeBackend";
import { i18n } from "../i18n/index.svelte";
import { ReminderModel, localMinute } from "./reminderModel.svelte";
import ReminderStack from "./ReminderStack.svelte";
import type { Reminder } from "../lib/bindings";

const digest: Reminder = { key: "digest:2026-11-24", title: "今天有 3 位客人可以联系", body: "1 个回访 · 2 个生日或纪念日", customer_id: null };
const followUp: Reminder = { key: "fu:2026-11-24", title: "今天回访周女士", body: "问问婚期定了没有", customer_id: "c-1" };

describe("reminders", () => {
  it("asks the book with the local minute and language, notifies the desktop once per reminder", async () => {
    i18n.locale = "zh-Hant";
    const fake = new FakeBackend([]);
    fake.dueReminders = [digest, followUp];
    const asked: string[][] = [];
    const api = fake.api();
    const take = api.takeDueReminders;
    api.takeDueReminders = (now, lang) => {
      asked.push([now, lang]);
      return take(now, lang);
    };
    const model = new ReminderModel(api, () => new Date(2026, 10, 24, 9, 5));
    expect(await model.check()).toHaveLength(2);
    expect(asked).toEqual([["2026-11-24T09:05", "zh-Hant"]]);
    expect(fake.notified.map((n) => n.title)).toEqual([digest.title, followUp.title]);
    // The book hands each out once: a second check shows nothing new.
    expect(await model.check()).toHaveLength(0);
    expect(fake.notified).toHaveLength(2);
    expect(model.pending.map((r) => r.key)).toEqual([digest.key, followUp.key]);
    model.close(digest.key);
    expect(model.pending.map((r) => r.key)).toEqual([followUp.key]);
  });

  it("pads the local minute", () => {
    expect(localMinute(new Date(2027, 0, 5, 7, 3))).toBe("2027-01-05T07:03");
  });

  it("keeps reminders on screen until opened or closed; a follow-up opens its customer", async () => {
    i18n.locale = "zh-Hans";
    const fake = new FakeBackend([]);
    fake.dueReminders = [digest, followUp];
    const model = new ReminderModel(fake.api());
    await model.check();
    const opened: (string | null)[] = [];
    render(ReminderStack, { model, onopen: (r: Reminder) => opened.push(r.customer_id) });
    expect(await screen.findByText("今天有 3 位客人可以联系")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "打开" }));
    expect(opened).toEqual(["c-1"]);
    await waitFor(() => expect(screen.queryByText("今天回访周女士")).toBeNull());
    await fireEvent.click(screen.getByRole("button", { name: "关闭" }));
    await waitFor(() => expect(screen.queryByTestId("reminders")).toBeNull());
  });
});
