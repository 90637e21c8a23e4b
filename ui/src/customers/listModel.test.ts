import { describe, expect, it } from "vitest";
import { CompositionAwareInput, CustomerListModel, PAGE } from "./listModel.svelte";
import type { ListPage, ListQuery } from "../lib/bindings";

function rows(offset: number, n: number, prefix = "c") {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${offset + i}`, name: `${prefix}${offset + i}`, gender: null, phone_masked: null, stage: null, owner: null,
    tags: [], last_contact: null, birthday: null, birthday_calendar: "solar" as const, birthday_in_days: null, matched: null,
  }));
}

/** A backend of `total` customers that records each request. */
function backend(total: number) {
  const calls: { query: ListQuery; offset: number; limit: number }[] = [];
  return {
    calls,
    listCustomers: async (query: ListQuery, offset: number, limit: number): Promise<ListPage> => {
      calls.push({ query, offset, limit });
      const n = Math.max(0, Math.min(limit, total - offset));
      return { total, offset, rows: rows(offset, n) };
    },
  };
}

describe("CustomerListModel", () => {
  it("loads the first page on refresh and only missing pages on scroll", async () => {
    const b = backend(20 * PAGE);
    const m = new CustomerListModel(b);
    await m.refresh();
    expect(m.total).toBe(20 * PAGE);
    expect(m.row(0)?.id).toBe("c0");
    expect(m.row(PAGE)).toBeUndefined();
    await m.ensure(PAGE / 2, 2 * PAGE + PAGE / 2);
    expect(b.calls.map((c) => c.offset)).toEqual([0, PAGE, 2 * PAGE]);
    expect(m.row(2 * PAGE + 1)?.id).toBe(`c${2 * PAGE + 1}`);
    await m.ensure(0, PAGE + 1);
    expect(b.calls).toHaveLength(3); // all cached
  });

  it("does not fetch beyond the end", async () => {
    const b = backend(PAGE - 5);
    const m = new CustomerListModel(b);
    await m.refresh();
    await m.ensure(0, 500);
    expect(b.calls).toHaveLength(1);
  });

  it("drops an answer to an older query that arrives late", async () => {
    const resolvers: ((p: ListPage) => void)[] = [];
    const m = new CustomerListModel({
      listCustomers: () => new Promise<ListPage>((res) => resolvers.push(res)),
    });
    m.text = "zhang";
    const first = m.refresh();
    m.text = "zhang wei";
    const second = m.refresh();
    resolvers[1]({ total: 1, offset: 0, rows: rows(0, 1, "new") });
    resolvers[0]({ total: 5, offset: 0, rows: rows(0, 5, "old") });
    await Promise.all([first, second]);
    expect(m.total).toBe(1);
    expect(m.row(0)?.id).toBe("new0");
  });

  it("sends the filters and sort with every request", async () => {
    const b = backend(10);
    const m = new CustomerListModel(b);
    m.text = "wang";
    m.stage = "ask";
    m.sort = "upcoming_birthday";
    await m.refresh();
    expect(b.calls[0].query).toMatchObject({ text: "wang", stage: "ask", sort: "upcoming_birthday", tag: null });
    expect(m.filtered).toBe(true);
    m.clearFilters();
    expect(m.filtered).toBe(false);
  });

  it("reports errors in words and recovers", async () => {
    let fail = true;
    const m = new CustomerListModel({
      listCustomers: async () => {
        if (fail) throw new Error("the book is locked");
        return { total: 0, offset: 0, rows: [] };
      },
    });
    await m.refresh();
    expect(m.error).toContain("the book is locked");
    fail = false;
    await m.refresh();
    expect(m.error).toBeNull();
  });
});

describe("CompositionAwareInput", () => {
  it("searches only committed text, never mid-composition", () => {
    const seen: string[] = [];
    const input = new CompositionAwareInput((t) => seen.push(t));
    input.input("z", false);
    input.compositionStart();
    input.input("zh", true);
    input.input("zhang", false); // some IMEs clear isComposing early
    input.compositionEnd("张");
    input.input("张w", false);
    expect(seen).toEqual(["z", "张", "张w"]);
  });
});
