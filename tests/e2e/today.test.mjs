// End-to-end: the daily queue in the real window. A demo book (with its HQ
// catalogue) is made by the CLI; the associate opens Today, edits a draft,
// copies and logs it, and the contact is on the customer's record. The
// screen is shot in Chinese and English at both window sizes.
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
const work = mkdtempSync(path.join(tmpdir(), "lighttouch-e2e-today-"));
const lt = (db, ...args) => execFileSync(cli, ["--db", db, ...args], { encoding: "utf8" }).trim();

test("today: reasons and drafts, copy and log records the contact", async () => {
  const db = path.join(work, "book.sqlite3");
  lt(db, "init", "--associate", "小林", "--store", "静安嘉里", "--language", "zh-Hans");
  lt(db, "demo", "--customers", "300");
  lt(db, "reminders", "--off");
  // The test runs at any hour: no quiet hours, or a promotion copied after
  // 21:00 would be held back and stay in the queue.
  lt(db, "guard", "--quiet", "00:00-00:00");
  const day = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  const today = `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
  const queue = JSON.parse(lt(db, "--json", "today", "--date", today));
  assert.ok(queue.length > 0, "the demo book has people to reach today");

  let app = await App.launch({ binary, env: { LIGHTTOUCH_DB: db }, shotsDir: shots });
  try {
    await app.setSize(1280, 800);
    // There are people to reach this morning: the app opens on Today.
    await app.find("h1", { text: "今日待办" });
    const first = await app.find('[data-testid="today-entry"]');
    const name = queue[0].name;
    assert.ok((await first.text()).includes(name), `the first entry is ${name}`);
    await app.screenshot("30-today-zh-Hans-1280");
    const before = (await app.findAll('[data-testid="today-entry"]')).length;
    const box = await app.find('[data-testid="today-entry"] textarea');
    await box.type(" 周末见！");
    await (await app.find('[data-testid="today-entry"] button.primary')).click();
    await app.waitFor(async () => (await app.findAll('[data-testid="today-entry"]')).length === before - 1, "the entry leaves the queue");
    await app.setSize(1920, 1080);
    await app.screenshot("31-today-zh-Hans-1920");
    // From the queue to the customer: what to do next, with a draft on demand.
    await app.setSize(1280, 800);
    await (await app.find('[data-testid="today-entry"] button.name')).click();
    await app.find('[data-testid="pressure"]');
    await app.screenshot("34-customer-suggestions-zh-Hans-1280");
    const write = await app.findAll('[data-testid="suggestion-write"]');
    if (write.length > 0) {
      await write[0].click();
      await app.find('[data-testid="draft-body"]');
      await app.screenshot("35-draft-editor-zh-Hans-1280");
    }
    await (await app.find('[data-nav="content"]')).click();
    await (await app.find('[data-testid="content-item"]')).click();
    await app.find("h2", { text: "该告诉谁" });
    await app.screenshot("37-content-audience-zh-Hans-1280");
  } finally {
    await app.quit();
  }
  const record = JSON.parse(lt(db, "--json", "show", queue[0].customer_id));
  const logged = record.touchpoints.find((t) => (t.message ?? "").endsWith("周末见！"));
  assert.ok(logged, "the sent message is logged as a contact");
  const after = JSON.parse(lt(db, "--json", "today", "--date", today));
  assert.ok(!after.some((e) => e.key === queue[0].key), "done entries leave the queue");

  lt(db, "init", "--language", "en");
  app = await App.launch({ binary, env: { LIGHTTOUCH_DB: db }, shotsDir: shots });
  try {
    await app.setSize(1280, 800);
    await (await app.find('[data-nav="today"]')).click();
    await app.find("h1", { text: "Today" });
    await app.find('[data-testid="today-entry"]');
    await app.screenshot("32-today-en-1280");
    await app.setSize(1920, 1080);
    await app.screenshot("33-today-en-1920");
    // Who should hear about a piece of HQ content.
    await app.setSize(1280, 800);
    await (await app.find('[data-nav="content"]')).click();
    await (await app.find('[data-testid="content-item"]')).click();
    await app.find("h2", { text: "Who should hear about" });
    await app.screenshot("36-content-audience-en-1280");
    await (await app.find('[data-testid="audience-entry"] button.name')).click();
    await app.find('[data-testid="pressure"]', { text: "promotions in 30 days" });
    await app.screenshot("38-customer-suggestions-en-1280");
  } finally {
    await app.quit();
  }
});
