import { describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import App from "../App.svelte";
import { FakeBackend } from "../lib/fakeBackend";
import type { SyncView } from "../lib/bindings";
import { i18n } from "../i18n/index.svelte";
import { syncErrorText, syncState } from "./syncModel.svelte";

function view(status: Partial<SyncView["status"]>, activity: Partial<SyncView["activity"]> = {}): SyncView {
  return {
    status: { server: "http://s", username: "xiaolin", store: "静安嘉里", signed_in: true, pending: 0, last_success_at: null, last_error: null, open_conflicts: 0, quarantined: 0, ...status },
    activity: { syncing: false, online: null, retry_in_secs: null, ...activity },
  };
}

describe("syncState", () => {
  it("names what a person needs to know, most urgent first", () => {
    expect(syncState(view({ signed_in: false }))).toBe("signedOut");
    expect(syncState(view({ pending: 3 }, { syncing: true }))).toBe("syncing");
    expect(syncState(view({ pending: 3, last_error: { code: "offline", message: "x", at: "" } }))).toBe("offline");
    expect(syncState(view({}, { online: false }))).toBe("offline");
    expect(syncState(view({ last_error: { code: "unauthorized", message: "x", at: "" } }))).toBe("problem");
    expect(syncState(view({ pending: 2, last_success_at: "2026-11-24T10:00:00Z" }))).toBe("pending");
    expect(syncState(view({ last_success_at: "2026-11-24T10:00:00Z" }))).toBe("synced");
    expect(syncState(view({}))).toBe("never");
  });

  it("words known errors in the person's language and falls back to the server's", () => {
    i18n.locale = "zh-Hans";
    expect(syncErrorText("unauthorized", "token revoked")).toBe("请重新登录：本机的同步权限已失效");
    expect(syncErrorText("internal", "disk full")).toBe("同步出错：disk full");
  });
});

describe("sync in the app", () => {
  it("signs in from settings, shows the status line, and restores an overwritten value", async () => {
    i18n.locale = "zh-Hans";
    const fake = new FakeBackend(["张伟"]);
    fake.settings.language = "zh-Hans";
    render(App, { backend: fake.api() });
    const line = await screen.findByTestId("sync-status");
    expect(line.dataset.state).toBe("signedOut");
    await fireEvent.click(line); // not set up: opens settings
    await fireEvent.input(await screen.findByTestId("signin-server"), { target: { value: "http://127.0.0.1:8730" } });
    await fireEvent.input(screen.getByTestId("signin-username"), { target: { value: "xiaolin" } });
    await fireEvent.input(screen.getByTestId("signin-password"), { target: { value: "wrong" } });
    fake.refuse("signIn", { code: "unauthorized", message: "wrong username or password" });
    await fireEvent.click(screen.getByTestId("signin-submit"));
    expect(await screen.findByTestId("signin-error")).toHaveTextContent("用户名或密码不对");
    fake.refusals.delete("signIn");
    await fireEvent.input(screen.getByTestId("signin-password"), { target: { value: "password1" } });
    await fireEvent.click(screen.getByTestId("signin-submit"));
    expect(await screen.findByTestId("signed-in-as")).toHaveTextContent("已登录：xiaolin · 静安嘉里");

    fake.conflictList = [
      { id: 7, entity: "customer", row_id: "c1", customer_id: "c1", customer_name: "张伟", field: "ring_size", lost_value: '"12"', won_value: '"13"', detected_at: "2026-11-24T10:00:00Z" },
    ];
    await fireEvent.click(screen.getByTestId("sync-now"));
    await waitFor(() => expect(screen.getByTestId("sync-status").dataset.state).toBe("synced"));
    await fireEvent.click(await screen.findByTestId("sync-conflicts"));
    expect(await screen.findByTestId("conflict-lost")).toHaveTextContent("12");
    expect(screen.getByTestId("conflict-won")).toHaveTextContent("13");
    await fireEvent.click(screen.getByTestId("conflict-restore"));
    expect(await screen.findByTestId("conflicts-none")).toBeInTheDocument();

    // A change the server refused is counted in the rail, named and explained.
    fake.quarantineList = [
      { id: 3, direction: "out", entity: "customer", row_id: "c1", field: "owner", customer_id: "c1", customer_name: "张伟",
        code: "forbidden", message: "customer c1 belongs to 阿杰", at: "2026-11-24T10:00:00Z" },
    ];
    await fireEvent.click(screen.getByTestId("sync-status")); // syncs now
    const held = await screen.findByTestId("sync-quarantined");
    expect(held).toHaveTextContent("1");
    await fireEvent.click(held);
    const item = await screen.findByTestId("quarantined-change");
    expect(item).toHaveTextContent("张伟");
    expect(item).toHaveTextContent("同事的顾客需由店长转交");
    await fireEvent.click(screen.getByTestId("quarantine-dismiss"));
    await waitFor(() => expect(screen.queryByTestId("quarantined-change")).toBeNull());
    await waitFor(() => expect(screen.queryByTestId("sync-quarantined")).toBeNull());
  });
});
