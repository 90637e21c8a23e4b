import { expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import ExportBook from "./ExportBook.svelte";
import { FakeBackend } from "../lib/fakeBackend";
import { i18n } from "../i18n/index.svelte";

it("exports the whole book to the file the associate picks, named for the day", async () => {
  i18n.locale = "zh-Hans";
  const fake = new FakeBackend(["张伟", "李雪", "王芳"]);
  const api = fake.api();
  const asked: string[] = [];
  const exported: unknown[][] = [];
  api.pickSavePath = async (name) => (asked.push(name), `/home/xiaolin/${name}`);
  const real = api.exportCustomers;
  api.exportCustomers = async (...args) => (exported.push(args), real(...args));
  render(ExportBook, { backend: api, today: "2026-11-24" });

  await fireEvent.click(screen.getByTestId("export-csv"));
  expect(await screen.findByTestId("export-done")).toHaveTextContent("已导出 3 位顾客到 /home/xiaolin/顾客簿-2026-11-24.csv");
  expect(asked).toEqual(["顾客簿-2026-11-24.csv"]);
  expect(exported).toEqual([[null, "csv", "/home/xiaolin/顾客簿-2026-11-24.csv"]]);

  // Cancelling the dialog exports nothing.
  api.pickSavePath = async () => null;
  await fireEvent.click(screen.getByTestId("export-json"));
  expect(exported).toHaveLength(1);
});
