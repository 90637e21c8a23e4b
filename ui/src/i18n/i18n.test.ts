import { describe, expect, it } from "vitest";
import { en } from "./en";
import { zhHans } from "./zh-Hans";
import { zhHant } from "./zh-Hant";
import { systemLocale, translate } from "./index.svelte";

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("dictionaries", () => {
  for (const [name, dict] of Object.entries({ zhHans, zhHant })) {
    it(`${name} has every key, non-empty, with the same placeholders`, () => {
      expect(Object.keys(dict).sort()).toEqual(Object.keys(en).sort());
      for (const [key, text] of Object.entries(dict)) {
        expect(text.trim(), key).not.toBe("");
        expect(placeholders(text), key).toEqual(placeholders(en[key as keyof typeof en]));
      }
    });
  }

  it("Traditional Chinese has no Simplified-only characters", () => {
    // Characters that only exist in Simplified writing; a missed conversion shows up here.
    const simplifiedOnly = /[个为这后请设择页数据时间发对问题项览户单边录记详库级将输认确们会过从备签顾务动汇码号导删复编辑网络选购买纪宝风颜预营销门电话邮计划历农阴阳欢试载实现应仅产检识别员岁开关经长无样说视块条线总处档异显资讯听没联与还并转]/u;
    for (const [key, text] of Object.entries(zhHant)) {
      if (key.startsWith("lang.")) continue; // language names are written in their own script
      expect(text, key).not.toMatch(simplifiedOnly);
    }
  });
});

describe("translate", () => {
  it("fills placeholders", () => {
    expect(translate("zh-Hans", "list.count", { n: 12 })).toBe("12 位顾客");
    expect(translate("en", "list.birthdayIn", { n: 3 })).toBe("Birthday in 3 days");
  });
});

describe("systemLocale", () => {
  it("maps OS languages to ours", () => {
    expect(systemLocale(["zh-CN"])).toBe("zh-Hans");
    expect(systemLocale(["zh-TW"])).toBe("zh-Hant");
    expect(systemLocale(["zh-HK", "en"])).toBe("zh-Hant");
    expect(systemLocale(["zh-Hant-MO"])).toBe("zh-Hant");
    expect(systemLocale(["en-US"])).toBe("en");
    expect(systemLocale(["fr-FR", "en-GB"])).toBe("en");
    expect(systemLocale([])).toBe("zh-Hans");
  });
});
