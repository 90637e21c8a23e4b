// End-to-end: the desktop window syncing with a real lighttouch-server
// (started here on 127.0.0.1, port 0) and a colleague's book driven by the
// CLI. Sign in from settings, receive the colleague's customer, then an
// edit that lost to a concurrent one is restored from the conflicts view.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { App } from "./webdriver.mjs";

const root = path.resolve(import.meta.dirname, "../..");
const binary = process.env.E2E_APP ?? path.join(root, "target/debug/lighttouch-app");
const cli = process.env.E2E_CLI ?? path.join(root, "target/debug/lighttouch");
const serverBin = process.env.E2E_SERVER ?? path.join(root, "target/debug/lighttouch-server");
const shots = process.env.E2E_SHOTS ?? path.join(root, "e2e-out");
const work = mkdtempSync(path.join(tmpdir(), "lighttouch-e2e-sync-"));
const serverEnv = { ...process.env, LIGHTTOUCH_DATABASE_URL: `sqlite:${path.join(work, "server.sqlite3")}`, LIGHTTOUCH_PASSWORD: "password1" };

const admin = (...args) => execFileSync(serverBin, ["admin", ...args], { env: serverEnv, encoding: "utf8" });
const lt = (db, ...args) => execFileSync(cli, ["--db", db, ...args], { env: { ...process.env, LIGHTTOUCH_PASSWORD: "password1" }, encoding: "utf8" }).trim();

let server;
after(() => server?.kill());

async function startServer() {
  admin("store", "add", "静安嘉里");
  admin("user", "add", "xiaolin", "--store", "静安嘉里", "--role", "associate", "--display-name", "小林");
  admin("user", "add", "ajie", "--store", "静安嘉里", "--role", "associate", "--display-name", "阿杰");
  server = spawn(serverBin, ["serve", "--listen", "127.0.0.1:0"], { env: serverEnv, stdio: ["ignore", "pipe", "inherit"] });
  return await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[\d.:]+)/);
      if (m) resolve(m[1]);
    });
    server.on("exit", (code) => reject(new Error(`server exited ${code}`)));
  });
}

test("sign in, receive a colleague's customer, restore an overwritten value", async () => {
  const url = await startServer();
  // The colleague's book, through the CLI.
  const colleague = path.join(work, "ajie.sqlite3");
  lt(colleague, "init");
  lt(colleague, "login", "--server", url, "--user", "ajie");
  const wang = lt(colleague, "add", "--name", "王芳", "--phone", "13700001234");
  lt(colleague, "note", "add", wang, "想给妈妈挑生日礼物");
  lt(colleague, "sync");

  const mine = path.join(work, "xiaolin.sqlite3");
  lt(mine, "init", "--associate", "小林", "--store", "静安嘉里", "--language", "zh-Hans");
  lt(mine, "reminders", "--off");
  lt(mine, "add", "--name", "欧阳娜娜");
  let app = await App.launch({ binary, env: { LIGHTTOUCH_DB: mine }, shotsDir: shots });
  try {
    const status = await app.find('[data-testid="sync-status"]');
    assert.equal(await status.attribute("data-state"), "signedOut");
    await status.click();
    const serverInput = await app.find('[data-testid="signin-server"]');
    await serverInput.clear();
    await serverInput.type(url);
    await (await app.find('[data-testid="signin-username"]')).type("xiaolin");
    await (await app.find('[data-testid="signin-password"]')).type("wrong-password");
    await (await app.find('[data-testid="signin-submit"]')).click();
    await app.find('[data-testid="signin-error"]', { text: "用户名或密码不对" });
    const pw = await app.find('[data-testid="signin-password"]');
    await pw.clear();
    await pw.type("password1");
    await (await app.find('[data-testid="signin-submit"]')).click();
    await app.find('[data-testid="signed-in-as"]', { text: "已登录：xiaolin · 静安嘉里" });
    await app.waitFor(async () => (await (await app.find('[data-testid="sync-status"]')).attribute("data-state")) === "synced", "synced");
    await app.screenshot("20-sync-signed-in");
    await (await app.find('[data-nav="customers"]')).click();
    await app.find('[data-testid="count"]', { text: "2" });
    const search = await app.find('[data-testid="search"]');
    await search.type("wangfang");
    await (await app.find('[data-testid="customer-row"]', { text: "王芳" })).click();
    await app.find('[data-testid="customer-name"]', { text: "王芳" });
    await app.find('[data-testid="note"]', { text: "想给妈妈挑生日礼物" });
    await app.screenshot("21-sync-colleagues-customer");
  } finally {
    await app.quit();
  }

  // Offline on this laptop (app closed, edited by the CLI), the colleague edits the same field later.
  lt(mine, "edit", wang, "--set", "ring_size=12");
  await new Promise((r) => setTimeout(r, 1100));
  lt(colleague, "sync");
  lt(colleague, "edit", wang, "--set", "ring_size=13");
  lt(colleague, "sync");

  app = await App.launch({ binary, env: { LIGHTTOUCH_DB: mine }, shotsDir: shots });
  try {
    // The app syncs at start: 13 wins, 12 is kept for review.
    const badge = await app.find('[data-testid="sync-conflicts"]', { timeout: 20_000 });
    await badge.click();
    await app.find('[data-testid="conflict-lost"]', { text: "12" });
    await app.find('[data-testid="conflict-won"]', { text: "13" });
    await app.screenshot("22-sync-conflicts");
    // The same screens in English, at 1920×1080.
    await app.setSize(1920, 1080);
    await (await app.find('[data-nav="settings"]')).click();
    await (await app.find('[data-testid="lang-en"]')).click();
    await app.find('[data-testid="signed-in-as"]', { text: "Signed in as xiaolin" });
    await app.screenshot("23-sync-settings-en-1920");
    await (await app.find('[data-testid="sync-conflicts"]')).click();
    await app.find("h1", { text: "Overwritten values" });
    await app.screenshot("24-sync-conflicts-en-1920");
    await (await app.find('[data-testid="conflict-restore"]')).click();
    await app.find('[data-testid="conflicts-none"]');
    await (await app.find('[data-testid="sync-status"]')).click();
    await app.waitFor(async () => (await (await app.find('[data-testid="sync-status"]')).attribute("data-state")) === "synced", "synced again");
  } finally {
    await app.quit();
  }
  // The restored value reached the colleague.
  lt(colleague, "sync");
  const shown = JSON.parse(lt(colleague, "show", wang, "--json"));
  assert.equal(shown.ring_size ?? shown.customer?.ring_size, "12");
});
