import "@testing-library/jest-dom/vitest";

// jsdom has no layout: a ResizeObserver that never fires is enough for
// components that bind to element sizes.
class NoLayoutResizeObserver {
  observe() {}
  unobserve() {}
  disconnect() {}
}
globalThis.ResizeObserver ??= NoLayoutResizeObserver as unknown as typeof ResizeObserver;
