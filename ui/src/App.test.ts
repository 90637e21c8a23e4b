import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import App from "./App.svelte";
import NewCustomer from "./customers/NewCustomer.svelte";
import { FakeBackend } from "./lib/fakeBackend";
import { i18n } from "./i18n/index.svelte";

describe("App", () => {
  it("offers import or demo data on an empty book, then lists the demo customers", async () => {
    i18n.locale = "zh-Hans";
    const fake = new FakeBackend();
    fake.settings.language = "zh-Hans";
    render(App, { backend: fake.api() });
    const demo = await screen.findByTestId("try-demo");
    expect(screen.getByText("导入 CSV")).toBeInTheDocument();
    await fireEvent.click(demo);
    await waitFor(() => expect(screen.getByTestId("count")).toHaveTextContent("500 位顾客"));
  });

  it("opens on Today when this morning's queue has someone in it", async () => {
    i18n.locale = "en";
    const fake = new FakeBackend(["王丽"]);
    fake.settings.language = "en";
    const id = [...fake.records.keys()][0];
    fake.queue = [
      {
        key: `birthday:${id}:2026-12-03`, kind: "birthday", section: "occasion", customer_id: id, name: "王丽", due: "2026-12-03",
        reasons: ["birthday in 2 days"], content_id: null, draft: "Hi", draft_language: "en", promotion: false,
      },
    ];
    render(App, { backend: fake.api() });
    expect(await screen.findByRole("heading", { name: "Today" })).toBeInTheDocument();
    expect(screen.queryByText("New customer", { exact: false })).toBeNull();
  });

  it("opens on the customers when the queue is empty", async () => {
    const fake = new FakeBackend(["王丽"]);
    fake.settings.language = "en";
    render(App, { backend: fake.api() });
    expect(await screen.findByText("New customer", { exact: false })).toBeInTheDocument();
    expect(fake.calls).toContain("someoneToReach");
    expect(fake.calls).not.toContain("todayQueue");
  });

  it("opens on the customers when the answer takes longer than a moment", async () => {
    const fake = new FakeBackend(["王丽"]);
    fake.settings.language = "en";
    // A book busy elsewhere: no answer yet.
    const api = { ...fake.api(), someoneToReach: () => new Promise<never>(() => {}) };
    render(App, { backend: api });
    expect(await screen.findByText("New customer", { exact: false }, { timeout: 4000 })).toBeInTheDocument();
  });

  it("follows the book's language setting", async () => {
    const fake = new FakeBackend(["张伟"]);
    fake.settings.language = "en";
    render(App, { backend: fake.api() });
    expect(await screen.findByText("New customer", { exact: false })).toBeInTheDocument();
    expect(document.documentElement.lang).toBe("en");
  });
});

describe("NewCustomer", () => {
  it("warns about a similar customer and offers to open it instead", async () => {
    i18n.locale = "zh-Hans";
    const fake = new FakeBackend(["张伟"]);
    // Who the core finds for the name being typed.
    fake.similar = [{ customer_id: [...fake.records.keys()][0], name: "张伟", phone_masked: "139****5678", matched_on: "name" }];
    const opened: string[] = [];
    const created: string[] = [];
    render(NewCustomer, {
      backend: fake.api(),
      oncreated: (id: string) => created.push(id),
      onopen: (id: string) => opened.push(id),
      oncancel: () => {},
    });
    await fireEvent.input(screen.getByTestId("new-name"), { target: { value: "张伟" } });
    const warning = await screen.findByTestId("similar", {}, { timeout: 2000 });
    expect(warning).toHaveTextContent("这位像是 张伟");
    expect(screen.queryByTestId("create")).toBeNull(); // the primary action becomes "open"
    await fireEvent.click(screen.getByText("打开 张伟"));
    expect(opened).toHaveLength(1);
    await fireEvent.click(screen.getByText("是另一位顾客，仍然新建"));
    await waitFor(() => expect(created).toHaveLength(1));
  });

  it("asks for a name before creating", async () => {
    i18n.locale = "en";
    const fake = new FakeBackend();
    render(NewCustomer, { backend: fake.api(), oncreated: () => {}, onopen: () => {}, oncancel: () => {} });
    await fireEvent.submit(screen.getByTestId("new-customer-form"));
    expect(await screen.findByRole("alert")).toHaveTextContent("A customer needs a name.");
    expect(fake.calls).not.toContain("addCustomer");
  });
});
