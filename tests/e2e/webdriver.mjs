// A small W3C WebDriver client for the real desktop window: starts
// WebKitWebDriver (Debian's webkit2gtk-driver), which starts the app, and
// drives it over HTTP. No npm packages needed.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";
const REQUEST_TIMEOUT_MS = 30_000;
// The first window on a fresh machine is slow: WebKit builds its font and
// media caches before it paints (over 30 s on a 2-core CI runner).
const SESSION_TIMEOUT_MS = 150_000;

async function freePort() {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class App {
  static async launch(options) {
    try {
      return await App.#launchOnce(options);
    } catch (e) {
      // One retry with a fresh driver: a cold start can outlive the first try.
      console.log(`# launch failed, retrying once: ${e.message.split("\n")[0]}`);
      return await App.#launchOnce(options);
    }
  }

  static async #launchOnce({ binary, env = {}, shotsDir }) {
    const port = await freePort();
    const driver = spawn("WebKitWebDriver", [`--port=${port}`], {
      env: { ...process.env, TAURI_WEBVIEW_AUTOMATION: "true", ...env },
      stdio: ["ignore", "ignore", "pipe"],
      // Its own process group, so quit() can stop the app and WebKit with it.
      detached: true,
    });
    let stderr = "";
    driver.stderr.on("data", (d) => (stderr += d));
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        const r = await fetch(`${base}/status`);
        if (r.ok) break;
      } catch {
        await sleep(100);
      }
    }
    const app = new App(base, driver, shotsDir);
    app.sessionRequestedAt = performance.now();
    try {
      const created = await app.#raw(
        "POST",
        "/session",
        { capabilities: { alwaysMatch: { "webkitgtk:browserOptions": { binary, args: [] } } } },
        SESSION_TIMEOUT_MS,
      );
      app.session = created.sessionId;
    } catch (e) {
      try {
        process.kill(-driver.pid, "SIGKILL");
      } catch {
        driver.kill("SIGKILL");
      }
      throw new Error(`could not start the app: ${e.message}\n${stderr}`);
    }
    return app;
  }

  constructor(base, driver, shotsDir) {
    this.base = base;
    this.driver = driver;
    this.shotsDir = shotsDir;
  }

  async #raw(method, url, body, timeoutMs = REQUEST_TIMEOUT_MS) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    try {
      const r = await fetch(this.base + url, {
        method,
        headers: { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctrl.signal,
      });
      const json = await r.json();
      if (!r.ok) throw new Error(`${method} ${url}: ${json.value?.error}: ${json.value?.message}`);
      return json.value;
    } finally {
      clearTimeout(timer);
    }
  }

  cmd(method, url, body) {
    return this.#raw(method, `/session/${this.session}${url}`, body);
  }

  /** Waits until `css` matches (and, if given, `pred(el)` holds). */
  async find(css, { timeout = 10_000, text, interval = 100 } = {}) {
    const end = Date.now() + timeout;
    let last = "";
    while (Date.now() < end) {
      try {
        const els = await this.cmd("POST", "/elements", { using: "css selector", value: css });
        for (const e of els) {
          const el = new Element(this, e[ELEMENT]);
          if (text === undefined) return el;
          last = await el.text();
          if (last.includes(text)) return el;
        }
      } catch {
        // the page may be re-rendering
      }
      await sleep(interval);
    }
    throw new Error(`no element ${css}${text ? ` with text ${JSON.stringify(text)} (last: ${JSON.stringify(last)})` : ""}`);
  }

  async findAll(css) {
    const els = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return els.map((e) => new Element(this, e[ELEMENT]));
  }

  /**
   * Answers the system's save dialog (GTK's, opened by the dialog plugin),
   * which WebDriver cannot reach: types `file` into its name field with
   * xdotool and presses Enter, as a person would.
   */
  async saveAs(file, { title = "Save File", timeout = 15_000 } = {}) {
    const xdotool = (...args) => execFileSync("xdotool", args, { encoding: "utf8" }).trim();
    let win = "";
    await this.waitFor(async () => {
      try {
        win = xdotool("search", "--onlyvisible", "--name", `^${title}$`).split("\n")[0];
      } catch {
        return false; // not open yet: xdotool exits 1 when nothing matches
      }
      return !!win;
    }, `the "${title}" dialog`, timeout);
    xdotool("windowfocus", "--sync", win);
    xdotool("key", "--window", win, "ctrl+a");
    xdotool("type", "--window", win, "--delay", "10", file);
    xdotool("key", "--window", win, "Return");
  }

  async waitFor(fn, what, timeout = 10_000) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
      last = await fn().catch((e) => e);
      if (last === true) return;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what} (last: ${last})`);
  }

  exec(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  async keys(text) {
    const active = await this.cmd("GET", "/element/active");
    await new Element(this, active[ELEMENT]).type(text);
  }

  async screenshot(name) {
    // Let the last change paint: WebKit snapshots the last composited frame.
    await sleep(250);
    const b64 = await this.cmd("GET", "/screenshot");
    mkdirSync(this.shotsDir, { recursive: true });
    const file = path.join(this.shotsDir, `${name}.png`);
    writeFileSync(file, Buffer.from(b64, "base64"));
    return file;
  }

  async setSize(width, height) {
    await this.cmd("POST", "/window/rect", { width, height, x: 0, y: 0 });
  }

  async quit() {
    try {
      // WebKitWebDriver waits for the app to exit, which a Tauri app does not
      // do on this request; the process group is killed below anyway.
      await this.#raw("DELETE", `/session/${this.session}`, undefined, 3_000);
    } catch {
      // already gone
    }
    try {
      process.kill(-this.driver.pid, "SIGKILL");
    } catch {
      // already gone
    }
    this.driver.stderr?.destroy();
    await sleep(300);
  }
}

export class Element {
  constructor(app, id) {
    this.app = app;
    this.id = id;
  }
  click() {
    return this.app.cmd("POST", `/element/${this.id}/click`, {});
  }
  type(text) {
    return this.app.cmd("POST", `/element/${this.id}/value`, { text });
  }
  clear() {
    return this.app.cmd("POST", `/element/${this.id}/clear`, {});
  }
  /** The element's text content (WebDriver's "visible text" drops ellipsised spans). */
  text() {
    return this.app.exec("return arguments[0].textContent", [{ [ELEMENT]: this.id }]);
  }
  property(name) {
    return this.app.cmd("GET", `/element/${this.id}/property/${name}`);
  }
  attribute(name) {
    return this.app.cmd("GET", `/element/${this.id}/attribute/${name}`);
  }
}

export const Keys = { ENTER: "\uE007", ESCAPE: "\uE00C", CONTROL: "\uE009", DOWN: "\uE015" };
