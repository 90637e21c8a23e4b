import { describe, expect, it } from "vitest";
import { CommandFailure } from "../lib/backend";
import type { CommandError } from "../lib/bindings";
import { errorText } from "./errors";
import { i18n } from "./index.svelte";

const failure = (detail: Partial<CommandError>) =>
  new CommandFailure({ code: "invalid_field", message: "core text", field: null, problem: null, duplicates: [], ...detail });

describe("errorText", () => {
  it("words an invalid field in the associate's language, never the core's English", () => {
    i18n.locale = "zh-Hans";
    expect(errorText(failure({ field: "name", problem: { kind: "missing" } }))).toBe("顾客需要一个名字");
    expect(errorText(failure({ field: "phone2", problem: { kind: "malformed" } }))).toBe("请输入手机号，如 138 0013 8000");
    expect(errorText(failure({ field: "anniversary", problem: { kind: "malformed" } }))).toContain("农历八月十五");
    expect(errorText(failure({ field: "ring_size", problem: { kind: "too_long", max: 16 } }))).toBe("戒圈最多 16 个字");
    expect(errorText(failure({ field: "owner", problem: { kind: "missing" } }))).toBe("请填写负责人");
    i18n.locale = "zh-Hant";
    expect(errorText(failure({ field: "consent_source", problem: { kind: "malformed" } }))).toBe("授權方式的格式不對");
    i18n.locale = "en";
    expect(errorText(failure({ field: "email", problem: { kind: "malformed" } }))).toBe("Enter an email address, like name@example.com");
    // A sentence written for the field wins over the kind of problem.
    expect(errorText(failure({ field: "per_week", problem: { kind: "malformed" } }))).toContain("do-not-contact");
    // A field the UI has no label for is named as the core names it.
    expect(errorText(failure({ field: "per_fortnight", problem: { kind: "missing" } }))).toBe("per_fortnight is required");
  });

  it("words known codes, and keeps the core's text for the rest", () => {
    i18n.locale = "zh-Hans";
    expect(errorText(failure({ code: "customer_not_found", message: "no customer with id x" }))).toBe("这位顾客已不在顾客簿中（已删除或已合并）。");
    expect(errorText(failure({ code: "database", message: "disk I/O error" }))).toBe("顾客簿未能保存，没有任何改动。（disk I/O error）");
    expect(errorText(failure({ code: "quiet_hours", message: "免打扰时段，09:00 后再发" }))).toBe("免打扰时段，09:00 后再发");
    expect(errorText(new Error("boom"))).toBe("出了点问题：boom");
    expect(errorText("offline")).toBe("出了点问题：offline");
  });
});
