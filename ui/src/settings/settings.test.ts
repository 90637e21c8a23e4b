import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { FakeBackend } from "../lib/fakeBackend";
import { i18n } from "../i18n/index.svelte";
import OutreachSettings from "./OutreachSettings.svelte";

describe("light-touch and reminder settings", () => {
  it("saves caps and the reminder time, and names a bad value in the associate's language", async () => {
    i18n.locale = "zh-Hans";
    const fake = new FakeBackend([]);
    const api = fake.api();
    const update = api.updateGuardSettings;
    api.updateGuardSettings = async (g) => {
      if (g.per_month < g.per_week) {
        const { CommandFailure } = await import("../lib/backend");
        throw new CommandFailure({ code: "invalid_field", message: "per_month: cannot be lower than the weekly cap", field: "per_month", problem: { kind: "malformed" }, duplicates: [] });
      }
      return update(g);
    };
    render(OutreachSettings, { backend: api, onscripts: () => {} });
    const week = (await screen.findByTestId("per-week")) as HTMLInputElement;
    expect(week.value).toBe("1");
    await fireEvent.input(week, { target: { value: "5" } });
    await fireEvent.click(screen.getByTestId("save-outreach"));
    expect((await screen.findByRole("alert")).textContent).toBe("30 天上限不能低于每周上限。");
    expect(screen.getByTestId("per-month").getAttribute("aria-invalid")).toBe("true");

    await fireEvent.input(week, { target: { value: "2" } });
    await fireEvent.input(screen.getByTestId("reminders-at"), { target: { value: "08:45" } });
    await fireEvent.click(screen.getByTestId("save-outreach"));
    await waitFor(() => expect(fake.guard.per_week).toBe(2));
    expect(fake.reminderPrefs).toEqual({ enabled: true, at: "08:45" });
    expect(screen.queryByRole("alert")).toBeNull();
  });
});
