// Desktop benchmark: Lighttouch on a 100,000-customer book against an empty
// Tauri 2 window, same machine, same run, under Xvfb.
//   cold start : WebDriver session request → first customer row on screen
//                (empty window: → its page's element), median of N runs
//   keystroke  : input event → rows for the new text rendered and painted,
//                measured inside the page over an as-you-type sequence
//   memory     : proportional set size (PSS) of every process of the app
//                (the shell, WebKit's web and network processes)
// Usage: node bench/desktop.mjs --app BIN --empty BIN --db BOOK [--runs 5] [--out FILE]
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { App } from "../tests/e2e/webdriver.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const runs = Number(args.runs ?? 5);
const shots = path.resolve(args.out ? path.dirname(args.out) : "bench-out");

function descendants(root) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // the process ended while we looked
    }
  }
  const out = [];
  const stack = [...(children.get(root) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

function pssMiB(pids) {
  let kib = 0;
  const processes = {};
  for (const pid of pids) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
      const pss = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      kib += pss;
      const name = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      processes[name] = Math.round(((processes[name] ?? 0) + pss / 1024) * 10) / 10;
    } catch {
      // gone
    }
  }
  return { mib: kib / 1024, processes };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function coldStart(binary, env, selector, { list = false } = {}) {
  const app = await App.launch({ binary, env, shotsDir: shots });
  // The app opens on Today when the morning has someone to reach; the
  // figure is to the customer list, so the list is asked for at once.
  if (list) await (await app.find('[data-nav="customers"]', { timeout: 30_000, interval: 5 })).click();
  await app.find(selector, { timeout: 30_000, interval: 5 });
  const ms = performance.now() - app.sessionRequestedAt;
  return { app, ms };
}

const TYPING = [
  "z", "zh", "zha", "zhan", "zhang", "zhangw", "zhangwe", "zhangwei", "",
  "张", "张伟", "張偉", "", "w", "wa", "wan", "wang", "wangf", "", "1", "13", "138", "8000", "",
  "p", "pe", "pea", "pear", "pearl", "", "l", "li", "lin", "ling", "", "珍", "珍珠", "", "c", "ch", "che", "chen", "chenj", "",
  "o", "ou", "ouy", "ouya", "ouyan", "ouyang", "", "l", "ly", "lyu", "", "a", "am", "amy", "",
];

async function keystrokes(app) {
  const times = [];
  for (const text of TYPING) {
    const ms = await app.cmd("POST", "/execute/async", {
      script: `
        const [text, done] = arguments;
        const input = document.querySelector('[data-testid="search"]');
        const list = document.querySelector('[data-testid="customer-list"]');
        const t0 = performance.now();
        input.value = text;
        input.dispatchEvent(new InputEvent("input", { bubbles: true }));
        const check = () => {
          if (list.dataset.shownQuery === text) {
            // The next frame renders the new rows; a task queued from its
            // animation callback runs once that frame is painted.
            requestAnimationFrame(() => setTimeout(() => done(performance.now() - t0), 0));
          } else setTimeout(check, 0);
        };
        check();`,
      args: [text],
    });
    times.push(ms);
  }
  return times;
}

const results = { runs, empty: { start: [], pss: [] }, app: { start: [], pss: [], keystroke: [] } };
for (let i = 0; i < runs; i++) {
  {
    const { app, ms } = await coldStart(args.empty, {}, "#ready");
    await sleep(1500); // let WebKit settle before reading memory
    const mem = pssMiB(descendants(app.driver.pid));
    results.empty.start.push(ms);
    results.empty.pss.push(mem.mib);
    results.empty.processes = mem.processes;
    await app.quit();
  }
  {
    const { app, ms } = await coldStart(args.app, { LIGHTTOUCH_DB: args.db }, '[data-testid="customer-row"] .name', { list: true });
    results.app.start.push(ms);
    results.app.keystroke.push(...(await keystrokes(app)));
    await sleep(1500);
    const mem = pssMiB(descendants(app.driver.pid));
    results.app.pss.push(mem.mib);
    results.app.processes = mem.processes;
    if (i === 0) await app.screenshot("bench-100k");
    await app.quit();
  }
  console.error(`run ${i + 1}/${runs}: empty ${results.empty.start.at(-1).toFixed(0)} ms, app ${results.app.start.at(-1).toFixed(0)} ms`);
}

const k = results.app.keystroke;
const summary = {
  empty_start_ms: median(results.empty.start),
  app_start_ms: median(results.app.start),
  start_delta_ms: median(results.app.start) - median(results.empty.start),
  keystroke_p50_ms: pct(k, 50),
  keystroke_p95_ms: pct(k, 95),
  keystroke_max_ms: Math.max(...k),
  keystrokes: k.length,
  empty_pss_mib: median(results.empty.pss),
  app_pss_mib: median(results.app.pss),
  pss_delta_mib: median(results.app.pss) - median(results.empty.pss),
  processes: results.app.processes,
};
const fmt = (x) => (typeof x === "number" ? x.toFixed(1) : x);
console.log(Object.entries(summary).map(([key, v]) => `${key.padEnd(18)} ${typeof v === "object" ? JSON.stringify(v) : fmt(v)}`).join("\n"));
console.log(`empty window processes: ${JSON.stringify(results.empty.processes)}`);
console.log(`targets: start delta ≤ 600 ms, keystroke < 50 ms, PSS delta ≤ 120 MiB`);
if (args.out) {
  mkdirSync(path.dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify({ summary, raw: results }, null, 2));
}
