import { expect, it } from "vitest";
import { suggestTags } from "./tagSuggest";
import type { Tag } from "../lib/bindings";

const vocab: Tag[] = [
  { id: "1", name: "珍珠", group: "preference", synonyms: ["pearl", "pearls"], customers: 40 },
  { id: "2", name: "珍珠耳钉", group: "preference", synonyms: [], customers: 3 },
  { id: "3", name: "情侣", group: "life_stage", synonyms: ["couple"], customers: 10 },
  { id: "4", name: "Pear shape", group: "preference", synonyms: [], customers: 1 },
];

it("matches names first, then synonyms, and says which synonym", () => {
  const s = suggestTags(vocab, "pear");
  expect(s.map((x) => [x.tag.name, x.via])).toEqual([
    ["Pear shape", null],
    ["珍珠", "pearl"],
  ]);
  expect(suggestTags(vocab, "ＰＥＡＲＬ")[0]).toMatchObject({ tag: { name: "珍珠" }, via: "pearl" });
});

it("orders equal matches by use and leaves out tags already on the customer", () => {
  expect(suggestTags(vocab, "珍珠").map((x) => x.tag.name)).toEqual(["珍珠", "珍珠耳钉"]);
  expect(suggestTags(vocab, "珍珠", ["1"]).map((x) => x.tag.name)).toEqual(["珍珠耳钉"]);
  expect(suggestTags(vocab, "  ")).toEqual([]);
});
