import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { FakeBackend } from "../lib/fakeBackend";
import { i18n } from "../i18n/index.svelte";
import { insertAt, preview, unknownPlaceholder } from "./scriptModel";
import ScriptsView from "./ScriptsView.svelte";

describe("talk scripts", () => {
  it("previews with sample values in the script's language and finds typos", () => {
    expect(preview("{name}您好，我是{associate}。{product}到了", "zh-Hans", "小林")).toBe("王女士您好，我是小林。玫瑰金项链到了");
    expect(preview("Hi {name}, {reason}.", "en", "Lin")).toBe("Hi Emma, I remember you like rose gold.");
    expect(preview("{occasion}快到了", "zh-Hant", "小林", "anniversary")).toBe("結婚紀念日快到了");
    expect(unknownPlaceholder("{name} {nmae}")).toBe("{nmae}");
    expect(unknownPlaceholder("{name} {product")).toBe("{product");
    expect(unknownPlaceholder("{name}，{occasion}")).toBeNull();
    expect(insertAt("您好。", 2, 2, "{name}")).toEqual({ text: "您好{name}。", cursor: 8 });
  });

  it("edits a script in the chosen language, refuses an unknown placeholder, and restores HQ's", async () => {
    i18n.locale = "zh-Hans";
    const fake = new FakeBackend([]);
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
