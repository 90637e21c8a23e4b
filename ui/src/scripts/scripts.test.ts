import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { FakeBackend } from "../lib/fakeBackend";
import { i18n } from "../i18n/index.svelte";
import { insertAt } from "./scriptModel";
import ScriptsView from "./ScriptsView.svelte";

describe("talk scripts", () => {
  it("inserts a placeholder at the cursor", () => {
    expect(insertAt("您好。", 2, 2, "{name}")).toEqual({ text: "您好{name}。", cursor: 8 });
    expect(insertAt("您好。", 0, 2, "{name}")).toEqual({ text: "{name}。", cursor: 6 });
  });

  it("edits a script in the chosen language, shows the core's preview and typo, and restores HQ's", async () => {
    i18n.locale = "zh-Hans";
    const fake = new FakeBackend([]);
    // What the core answers for these bodies (its rules are tested in Rust).
    fake.scriptPreviews.set("{nmae}好，{product}到店了", { text: "{nmae}好，玫瑰金项链到店了", unknown: "{nmae}" });
    fake.scriptPreviews.set("{name}好，{product}到店了", { text: "王女士好，玫瑰金项链到店了", unknown: null });
    render(ScriptsView, { backend: fake.api(), onback: () => {} });
    const box = (await screen.findByRole("textbox", { name: "推荐商品" })) as HTMLTextAreaElement;
    expect(box.value).toBe("{name}您好，我是{associate}。{product}");
    await fireEvent.input(box, { target: { value: "{nmae}好，{product}到店了" } });
    expect((await screen.findByRole("alert")).textContent).toContain("{nmae} 不是占位符");
    const card = box.closest("section")!;
    const save = [...card.querySelectorAll("button")].find((b) => b.textContent === "保存")!;
    expect(save.disabled).toBe(true);
    await fireEvent.input(box, { target: { value: "{name}好，{product}到店了" } });
    expect(card.querySelector(".preview")?.textContent).toContain("王女士好，玫瑰金项链到店了");
    await fireEvent.click(save);
    await waitFor(() => expect(card.querySelector(".badge")?.textContent).toBe("我的"));
    expect(fake.scripts.find((s) => s.purpose === "recommend" && s.language === "zh-Hans")?.body).toBe("{name}好，{product}到店了");
    await fireEvent.click(screen.getByRole("button", { name: "恢复总部话术" }));
    await waitFor(() => expect(card.querySelector(".badge")?.textContent).toBe("总部"));

    await fireEvent.click(screen.getByTestId("script-lang-en"));
    const en = (await screen.findByRole("textbox", { name: "推荐商品" })) as HTMLTextAreaElement;
    expect(en.value).toBe("Hi {name}, it's {associate}. {product}");
  });
});
