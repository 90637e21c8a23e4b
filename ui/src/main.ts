import { mount } from "svelte";
import "./app.css";
import App from "./App.svelte";
import { inTauri, tauriBackend, type Backend } from "./lib/backend";

async function start() {
  let backend: Backend;
  if (inTauri()) {
    backend = await tauriBackend();
  } else {
    // In a plain browser (vite dev, UI tests) the book is an in-memory fake.
    const { FakeBackend } = await import("./lib/fakeBackend");
    backend = new FakeBackend().api();
  }
  mount(App, { target: document.getElementById("app")!, props: { backend } });
}

start();
