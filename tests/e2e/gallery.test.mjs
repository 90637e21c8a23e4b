// End-to-end: every screen of the app in each language at both window sizes,
// shot for people to look at, and checked for text that does not fit its box
// (cut off, or spilling out of a button) without an ellipsis saying so.
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
const shots = process.env.E2E_SHOTS ?? path.join(root, "e2e-out", "gallery");
const work = mkdtempSync(path.join(tmpdir(), "lighttouch-e2e-gallery-"));
const lt = (db, ...args) => execFileSync(cli, ["--db", db, ...args], { encoding: "utf8" }).trim();

// Elements whose own text is wider than their box, unless they end it with
// an ellipsis or scroll on purpose. Inline elements have no box to overflow.
const CLIPPED = `
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join("").trim();
    if (!text || el.closest('[aria-hidden="true"]')) continue;
    const cs = getComputedStyle(el);
    if (cs.display === "inline" || cs.display === "contents" || cs.visibility === "hidden") continue;
    if (cs.textOverflow === "ellipsis" || cs.overflowX === "auto" || cs.overflowX === "scroll") continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1) out.push(el.tagName.toLowerCase() + ": " + text.slice(0, 40));
  }
  return out;`;

const SIZES = [
  [1280, 800],
  [1920, 1080],
];

// name → how to get there from anywhere
const SCREENS = [
  ["today", async (app) => (await app.find('[data-nav="today"]')).click()],
  ["customers", async (app) => (await app.find('[data-nav="customers"]')).click()],
  [
    "customer",
    async (app) => {
      await (await app.find('[data-nav="customers"]')).click();
      await (await app.find('[data-testid="customer-row"]')).click();
      await app.find('[data-testid="customer-name"]');
    },
  ],
  [
    "new-customer",
    async (app) => {
      await (await app.find('[data-nav="customers"]')).click();
      await (await app.find('[data-testid="new-customer"]')).click();
      // A phone already in the book: the duplicate warning shows.
      await (await app.find('[data-testid="new-phone"]')).type("13912345678");
      await app.find('[data-testid="similar"]');
    },
  ],
  ["content", async (app) => (await app.find('[data-nav="content"]')).click()],
  ["import-export", async (app) => (await app.find('[data-nav="import"]')).click()],
  ["settings", async (app) => (await app.find('[data-nav="settings"]')).click()],
  [
    "scripts",
    async (app) => {
      await (await app.find('[data-nav="settings"]')).click();
      await (await app.find('[data-testid="open-scripts"]')).click();
    },
  ],
];

for (const language of ["zh-Hans", "zh-Hant", "en"]) {
  test(`every screen in ${language}, at 1280×800 and 1920×1080, with no clipped text`, async () => {
    const db = path.join(work, `${language}.sqlite3`);
    lt(db, "init", "--associate", "小林", "--store", "静安嘉里", "--language", language);
    lt(db, "demo", "--customers", "120");
    lt(db, "reminders", "--off");
    lt(db, "add", "--name", "欧阳娜娜", "--phone", "13912345678", "--allow-duplicate");
    const app = await App.launch({ binary, env: { LIGHTTOUCH_DB: db }, shotsDir: shots });
    const clipped = [];
    try {
      for (const [width, height] of SIZES) {
        await app.setSize(width, height);
        for (const [name, open] of SCREENS) {
          await open(app);
          await app.screenshot(`${name}-${language}-${width}`);
          for (const what of await app.exec(CLIPPED)) clipped.push(`${name} at ${width}: ${what}`);
        }
      }
    } finally {
      await app.quit();
    }
    assert.deepEqual(clipped, [], "text that does not fit");
  });
}

test("the first launch screen in each language, with no clipped text", async () => {
  for (const language of ["zh-Hans", "zh-Hant", "en"]) {
    const db = path.join(work, `empty-${language}.sqlite3`);
    lt(db, "init", "--language", language);
    lt(db, "reminders", "--off");
    const app = await App.launch({ binary, env: { LIGHTTOUCH_DB: db }, shotsDir: shots });
    try {
      for (const [width, height] of SIZES) {
        await app.setSize(width, height);
        await app.find('[data-testid="welcome"]');
        await app.screenshot(`welcome-${language}-${width}`);
        assert.deepEqual(await app.exec(CLIPPED), [], `welcome in ${language} at ${width}`);
      }
    } finally {
      await app.quit();
    }
  }
});
