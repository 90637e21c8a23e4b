import { expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { FakeBackend } from "../lib/fakeBackend";
import { i18n } from "../i18n/index.svelte";
import TagEditor from "./TagEditor.svelte";

it("offers the core's suggestions for what is typed, says which synonym matched, and Enter picks the first", async () => {
  i18n.locale = "zh-Hans";
  const fake = new FakeBackend(["王丽"]);
  const id = [...fake.records.keys()][0];
  // What the core answers for "pearl" (its folding and ranking are tested in Rust).
  fake.tagSuggestions = [{ tag: fake.vocabulary[0], via: "pearl" }];
  const { component } = render(TagEditor, { backend: fake.api(), customerId: id, tags: [], onchanged: () => {} });
  await component.open();
  const input = await screen.findByTestId("tag-input");
  await fireEvent.input(input, { target: { value: "pearl" } });
  const option = await screen.findByRole("option");
  expect(option.textContent).toContain("珍珠");
  expect(option.textContent).toContain("pearl");
  expect(fake.calls).toContain("suggestTags");
  await fireEvent.keyDown(input, { key: "Enter" });
  await waitFor(() => expect(fake.records.get(id)!.tags.map((t) => t.name)).toEqual(["珍珠"]));
});

it("never picks a suggestion meant for earlier text", async () => {
  i18n.locale = "en";
  const fake = new FakeBackend(["Emma"]);
  const id = [...fake.records.keys()][0];
  fake.tagSuggestions = [{ tag: fake.vocabulary[0], via: "pearl" }];
  const { component } = render(TagEditor, { backend: fake.api(), customerId: id, tags: [], onchanged: () => {} });
  await component.open();
  const input = await screen.findByTestId("tag-input");
  await fireEvent.input(input, { target: { value: "pearl" } });
  await screen.findByRole("option", { name: /珍珠/ });
  fake.delay = 50;
  await fireEvent.input(input, { target: { value: "VIP" } });
  // Enter before the core answered: the typed text is the tag.
  await fireEvent.keyDown(input, { key: "Enter" });
  await waitFor(() => expect(fake.records.get(id)!.tags.map((t) => t.name)).toEqual(["VIP"]));
});
