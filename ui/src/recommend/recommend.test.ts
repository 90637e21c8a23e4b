import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { FakeBackend } from "../lib/fakeBackend";
import { i18n } from "../i18n/index.svelte";
import SuggestionsPanel from "./SuggestionsPanel.svelte";

function setup(consent: boolean) {
  const fake = new FakeBackend(["王丽"]);
  const id = [...fake.records.keys()][0];
  if (!consent) {
    // The core's answer for a customer without marketing consent.
    fake.suggestions.set(id, {
      customer_id: id, items: [], pressure: { last_7_days: 0, last_30_days: 0, last_contact: null },
      held_back: { reason: { code: "no_consent" }, message: "未同意营销信息：只发服务消息" },
    });
  }
  return { fake, id };
}

describe("SuggestionsPanel", () => {
  it("shows why a customer without consent gets no promotion", async () => {
    i18n.locale = "zh-Hans";
    const { fake, id } = setup(false);
    render(SuggestionsPanel, { backend: fake.api(), customerId: id, onchanged: () => {} });
    const held = await screen.findByTestId("held-back");
    expect(held.textContent).toBe("暂不推荐：未同意营销信息：只发服务消息");
    expect(screen.queryByTestId("suggestion")).toBeNull();
    expect(screen.getByTestId("pressure").textContent).toContain("30 天内推荐 0/4 次");
  });

  it("writes a draft, lets it be edited, and copies and logs it", async () => {
    i18n.locale = "en";
    const { fake, id } = setup(true);
    let changed = 0;
    render(SuggestionsPanel, { backend: fake.api(), customerId: id, onchanged: () => changed++ });
    await screen.findByText("玫瑰金项链");
    expect(screen.getByText("喜欢玫瑰金")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Write message" }));
    const box = (await screen.findByTestId("draft-body")) as HTMLTextAreaElement;
    expect(box.value).toBe("王丽您好，我是小林。");
    await fireEvent.input(box, { target: { value: "王丽您好，新到的项链给您留了一条。" } });
    await fireEvent.click(screen.getByTestId("draft-send"));
    await waitFor(() => expect(changed).toBe(1));
    expect(fake.drafts[0]).toMatchObject({ status: "sent", body: "王丽您好，新到的项链给您留了一条。", content_id: "p-rose" });
  });

  it("sets a piece aside with the reason the ranking learns from", async () => {
    i18n.locale = "zh-Hans";
    const { fake, id } = setup(true);
    render(SuggestionsPanel, { backend: fake.api(), customerId: id, onchanged: () => {} });
    await fireEvent.click(await screen.findByRole("button", { name: "写消息" }));
    await fireEvent.click(await screen.findByTestId("draft-dismiss"));
    await fireEvent.input(screen.getByTestId("draft-reason"), { target: { value: "对玫瑰金不感兴趣" } });
    await fireEvent.click(screen.getByTestId("draft-dismiss-confirm"));
    await waitFor(() => expect(fake.drafts[0]?.status).toBe("dismissed"));
    expect(fake.drafts[0].dismiss_reason).toBe("对玫瑰金不感兴趣");
  });
});

describe("sending in a channel", () => {
  it("opens the SMS app with the text only after the guard let it through", async () => {
    i18n.locale = "zh-Hans";
    const { fake, id } = setup(true);
    fake.records.get(id)!.phone = "13800138000";
    render(SuggestionsPanel, { backend: fake.api(), customerId: id, onchanged: () => {} });
    await fireEvent.click(await screen.findByRole("button", { name: "写消息" }));
    await fireEvent.click(await screen.findByRole("button", { name: "用短信发" }));
    await waitFor(() => expect(fake.opened).toHaveLength(1));
    expect(fake.opened[0]).toMatch(/^sms:13800138000\?body=/);
    expect(decodeURIComponent(fake.opened[0].split("body=")[1])).toBe("王丽您好，我是小林。");
    expect(fake.sentChannels).toEqual(["sms"]);
    expect(fake.copied).toEqual([]);
  });

  it("hands nothing on when the guard holds the customer back", async () => {
    i18n.locale = "zh-Hans";
    const fake = new FakeBackend(["李娜"]);
    const id = [...fake.records.keys()][0];
    fake.records.get(id)!.phone = "13900139000";
    fake.refuse("sendDraft", { code: "no_consent", message: "未同意营销信息：只发服务消息" });
    const { default: DraftEditor } = await import("./DraftEditor.svelte");
    render(DraftEditor, {
      backend: fake.api(),
      composed: { customer_id: id, content_id: "p-rose", language: "zh-Hans", body: "李娜您好", reasons: [] },
      title: "玫瑰金项链",
      ondone: () => {},
      oncancel: () => {},
    });
    await fireEvent.click(await screen.findByRole("button", { name: "用短信发" }));
    expect((await screen.findByRole("alert")).textContent).toContain("未同意营销信息");
    expect(fake.opened).toEqual([]);
    await fireEvent.click(screen.getByTestId("draft-send"));
    await screen.findByRole("alert");
    expect(fake.copied).toEqual([]);
  });
});

describe("channels", () => {
  it("offers SMS and mail only with a number or an address, and builds links with the text", async () => {
    const { channelsFor, channelUrl } = await import("./channels");
    expect(channelsFor(null)).toEqual(["wecom"]);
    expect(channelsFor({ phone: "138 0013 8000", email: null })).toEqual(["wecom", "sms"]);
    expect(channelsFor({ phone: null, email: "emma@example.com" })).toEqual(["wecom", "email"]);
    const reach = { phone: "+86 138-0013-8000", email: "emma@example.com" };
    expect(channelUrl("sms", reach, "王女士您好 & 周末见")).toBe("sms:+8613800138000?body=%E7%8E%8B%E5%A5%B3%E5%A3%AB%E6%82%A8%E5%A5%BD%20%26%20%E5%91%A8%E6%9C%AB%E8%A7%81");
    expect(channelUrl("email", reach, "Hi")).toBe("mailto:emma%40example.com?body=Hi");
    expect(channelUrl("wecom", reach, "Hi")).toBeNull();
  });
});
