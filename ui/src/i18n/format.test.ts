import { expect, it } from "vitest";
import { formatDate, formatMoney, formatMonthDay, formatOccasion, formatPhone } from "./format";

it("formats dates per locale", () => {
  expect(formatDate("2026-11-23", "zh-Hans")).toBe("2026年11月23日");
  expect(formatDate("2026-11-23", "en")).toBe("23 Nov 2026");
  expect(formatDate(null, "en")).toBe("");
  expect(formatDate("garbage", "en")).toBe("garbage");
});

it("formats birthdays without the year, lunar ones in Chinese numerals", () => {
  expect(formatMonthDay("1990-04-15", "solar", "zh-Hans")).toBe("4月15日");
  expect(formatMonthDay("--04-15", "solar", "en")).toBe("15 Apr");
  expect(formatMonthDay("1985-08-15", "lunar", "zh-Hans")).toBe("农历八月十五");
  expect(formatMonthDay("1985-12-08", "lunar", "zh-Hant")).toBe("農曆臘月初八");
  expect(formatMonthDay("2020-L04-20", "lunar", "zh-Hans")).toBe("农历闰四月二十");
  expect(formatMonthDay("--01-01", "lunar", "en")).toBe("Lunar 1/1");
  expect(formatOccasion("1985-08-15", "lunar", "zh-Hans")).toBe("1985年农历八月十五");
  expect(formatOccasion("1990-04-15", "solar", "en")).toBe("15 Apr 1990");
});

it("groups mainland mobiles and formats money", () => {
  expect(formatPhone("13800138000")).toBe("138 0013 8000");
  expect(formatPhone("+85291234567")).toBe("+85291234567");
  expect(formatMoney(1288000, "CNY", "zh-Hans")).toBe("¥12,880");
  expect(formatMoney(1288000, "CNY", "en")).toBe("CN¥12,880");
  expect(formatMoney(null, "CNY", "en")).toBe("");
});
