// End-to-end: reminders fire from the app itself, and the associate tunes the
// light-touch guard, the reminder time and their own talk scripts in the
// real window. Every change is checked in the book through the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { App } from "./webdriver.mjs";

const root = path.resolve(import.meta.dirname, "../..");
const binary = process.env.E2E_APP ?? path.join(root, "target/debug/lighttouch-app");
const cli = process.env.E2E_CLI ?? path.join(root, "target/debug/lighttouch");
const shots = process.env.E2E_SHOTS ?? path.join(root, "e2e-out");
const work = mkdtempSync(path.join(tmpdir(), "lighttouch-e2e-settings-"));
const lt = (db, ...args) => execFileSync(cli, ["--db", db, ...args], { encoding: "utf8" }).trim();

function today() {
  const d = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

test("reminders, light-touch caps and talk scripts", async () => {
  const db = path.join(work, "book.sqlite3");
  lt(db, "init", "--associate", "小林", "--store", "静安嘉里", "--language", "zh-Hans");
  const zhou = lt(db, "add", "--name", "周芳", "--gender", "female");
  lt(db, "follow-up", zhou, "--on", today(), "--note", "问问婚期定了没有");
  // Due from midnight, so the app fires them as soon as it checks.
  lt(db, "reminders", "--at", "00:00");

  let app = await App.launch({ binary, env: { LIGHTTOUCH_DB: db }, shotsDir: shots });
  try {
    await app.setSize(1280, 800);
    await app.find('[data-testid="reminders"]', { timeout: 20_000 });
    await app.find('[data-testid="reminders"] strong', { text: "今天回访周芳" });
    const badge = await app.find('[data-testid="today-badge"]');
    assert.equal(await badge.text(), "2", "the digest and the follow-up");
    await app.screenshot("40-reminders-zh-Hans-1280");
    // The follow-up's card opens the customer.
    await (await app.find('[data-testid="reminders"] article:last-child button.primary')).click();
    await app.find("h1", { text: "周芳" });
    await (await app.find('[data-testid="reminders"] button.primary')).click();
    await app.find("h1", { text: "今日" });
    assert.equal((await app.findAll('[data-testid="today-badge"]')).length, 0, "all seen");

    // Light touch: two promotions a week; reminders at 08:45.
    await (await app.find('[data-nav="settings"]')).click();
    const week = await app.find('[data-testid="per-week"]');
    await week.clear();
    await week.type("2");
    await app.exec(
      `const el = document.querySelector('[data-testid="reminders-at"]');
       el.value = "08:45"; el.dispatchEvent(new Event("input", { bubbles: true }));`,
    );
    await (await app.find('[data-testid="save-outreach"]')).click();
    await app.waitFor(async () => JSON.parse(lt(db, "--json", "guard")).per_week === 2, "the cap is saved");
    await app.screenshot("41-settings-outreach-zh-Hans-1280");

    // Talk scripts: write our own recommend script.
    await (await app.find('[data-testid="open-scripts"]')).click();
    const box = await app.find('[data-purpose="recommend"] textarea');
    await box.clear();
    // A typo the core names as it is typed; saving waits for it to be fixed.
    await box.type("{nmae}好");
    await app.find('[data-purpose="recommend"] [role="alert"]', { text: "{nmae}" });
    await box.clear();
    await box.type("{name}好，我是{associate}。{product}刚到店，给您留了一件。");
    await app.find('[data-purpose="recommend"] .preview', { text: "王女士好，我是小林。玫瑰金项链刚到店" });
    await (await app.find('[data-purpose="recommend"] button.primary')).click();
    await app.find('[data-purpose="recommend"] .badge', { text: "我的" });
    await app.screenshot("42-scripts-zh-Hans-1280");
  } finally {
    await app.quit();
  }
  const reminders = JSON.parse(lt(db, "--json", "reminders", "--at", "08:45"));
  assert.deepEqual(reminders, { enabled: true, at: "08:45" });
  const scripts = JSON.parse(lt(db, "--json", "scripts", "list", "--lang", "zh-Hans"));
  const mine = scripts.find((s) => s.purpose === "recommend");
  assert.equal(mine.body, "{name}好，我是{associate}。{product}刚到店，给您留了一件。");
  assert.ok(mine.id, "the associate's own script");

  // The same screens in English at the large size.
  lt(db, "init", "--language", "en");
  app = await App.launch({ binary, env: { LIGHTTOUCH_DB: db }, shotsDir: shots });
  try {
    await app.setSize(1920, 1080);
    await (await app.find('[data-nav="settings"]')).click();
    await app.find("h2", { text: "Light touch" });
    await app.screenshot("43-settings-outreach-en-1920");
    await (await app.find('[data-testid="open-scripts"]')).click();
    await (await app.find('[data-testid="script-lang-en"]')).click();
    await app.find('[data-purpose="recommend"] .badge', { text: "HQ" });
    await app.screenshot("44-scripts-en-1920");
  } finally {
    await app.quit();
  }
});
