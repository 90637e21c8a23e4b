import { expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import ImportWizard from "./ImportWizard.svelte";
import { FakeBackend } from "../lib/fakeBackend";
import { i18n } from "../i18n/index.svelte";

it("checks a file, lets the associate remap a column, imports, and undoes", async () => {
  i18n.locale = "zh-Hans";
  const fake = new FakeBackend();
  const api = fake.api();
  const done: (string | null)[] = [];
  render(ImportWizard, { backend: api, ondone: (id: string | null) => done.push(id) });

  await fireEvent.input(screen.getByTestId("import-path"), { target: { value: "/tmp/customers.csv" } });
  await fireEvent.click(screen.getByTestId("check-path"));
  expect(await screen.findByTestId("import-summary")).toHaveTextContent("共 2 行");
  // Samples from the file help decide what a column is.
  expect(screen.getByText("13800001111 · 13800002222")).toBeInTheDocument();

  const phoneColumn = screen.getByTestId("column-1") as HTMLSelectElement;
  await waitFor(() => expect(phoneColumn.value).toBe("phone"));
  await fireEvent.change(phoneColumn, { target: { value: "wechat" } });
  await waitFor(() => expect((screen.getByTestId("column-1") as HTMLSelectElement).value).toBe("wechat"));

  // Hold the import halfway to see the bar say how far it has got.
  const realImport = api.importCustomers;
  let finish = () => {};
  const halfway = new Promise<void>((r) => (finish = r));
  api.importCustomers = async (path, options, onProgress) => {
    onProgress?.({ done: 1, total: 2 });
    await halfway;
    return realImport(path, options, onProgress);
  };
  await fireEvent.click(screen.getByTestId("run-import"));
  const bar = await screen.findByTestId("import-progress");
  expect(bar).toHaveAttribute("aria-valuenow", "1");
  expect(bar).toHaveAttribute("aria-valuemax", "2");
  expect(screen.getByText("已写入 1 / 2 行")).toBeInTheDocument();
  finish();
  expect(await screen.findByTestId("import-done")).toHaveTextContent("新建 2 位");
  expect((await api.bookInfo()).customers).toBe(2);

  await fireEvent.click(screen.getByTestId("undo-import"));
  await fireEvent.click(screen.getByTestId("confirm-undo"));
  expect(await screen.findByTestId("import-undone")).toHaveTextContent("删除 2 位顾客");
  expect((await api.bookInfo()).customers).toBe(0);
  expect(fake.calls.filter((c) => c === "importCustomers")).toHaveLength(3); // check, remap, import
});
