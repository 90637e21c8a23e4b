import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { FakeBackend } from "../lib/fakeBackend";
import { i18n } from "../i18n/index.svelte";
import ContentView from "./ContentView.svelte";

describe("ContentView", () => {
  it("lists HQ content; a piece shows who should hear about it, and the held back are only counted", async () => {
    i18n.locale = "zh-Hans";
    const fake = new FakeBackend(["王丽", "李娜"]);
    const [wang] = [...fake.records.keys()];
    // The core's audience: 王丽 suits the piece; 李娜 would, but is held back.
    fake.audiences.set("p-rose", {
      content_id: "p-rose", title: "玫瑰金项链", held_back: 1,
      entries: [{ customer_id: wang, name: "王丽", score: 5, reasons: ["喜欢玫瑰金"], draft: "王丽您好，我是小林。", draft_language: "zh-Hans" }],
    });
    render(ContentView, { backend: fake.api(), onopen: () => {} });
    await fireEvent.click(await screen.findByText("玫瑰金项链"));
    await screen.findByText("玫瑰金项链：该告诉谁");
    const entries = await screen.findAllByTestId("audience-entry");
    expect(entries.map((e) => e.querySelector(".name")?.textContent)).toEqual(["王丽"]);
    expect(screen.getByTestId("audience-held").textContent).toContain("另有 1 位");
    await fireEvent.click(screen.getByRole("button", { name: "写消息" }));
    await fireEvent.click(await screen.findByTestId("draft-send"));
    await waitFor(() => expect(fake.drafts[0]?.status).toBe("sent"));
    expect(fake.drafts[0]).toMatchObject({ customer_id: wang, content_id: "p-rose" });
  });

  it("names the piece in the associate's language", async () => {
    i18n.locale = "en";
    const fake = new FakeBackend([]);
    render(ContentView, { backend: fake.api(), onopen: () => {} });
    expect(await screen.findByText("Rose gold necklace")).toBeTruthy();
  });
});
