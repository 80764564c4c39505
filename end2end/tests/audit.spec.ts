import { expect, test, type Browser, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { ADMIN, createCredential, hydrated, shot, signIn } from "./helpers";

// Issue #6: an Auditor filters the audit log, exports it as CSV, and sees
// another user's credential (and its API use) without any secret.

async function signedIn(browser: Browser, username: string, password: string): Promise<Page> {
  const page = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await page.goto("/");
  await hydrated(page);
  await signIn(page, username, password);
  await expect(page.getByRole("heading", { name: "Application Credentials", level: 1 })).toBeVisible();
  return page;
}

test("an Auditor filters the audit log, exports it, and reviews another user's credential", async ({
  browser,
  request,
}) => {
  test.setTimeout(120_000);
  // Otto (not an auditor) creates a credential and uses it.
  const otto = await signedIn(browser, "otto", "copper kettle 808 lane");
  const { secretDialog, clientId, secret } = await createCredential(otto, "Otto reporting", ["Work Creator"]);
  await secretDialog.getByRole("button", { name: "Done" }).click();
  const basic = (s: string) => `Basic ${Buffer.from(`${clientId}:${s}`).toString("base64")}`;
  const issued = await request.post("/oauth/token", {
    form: { grant_type: "client_credentials" },
    headers: { Authorization: basic(secret) },
  });
  const accessToken = (await issued.json()).access_token as string;
  expect((await request.get("/api/v1/me", { headers: { Authorization: `Bearer ${accessToken}` } })).status()).toBe(200);
  const refused = await request.post("/oauth/token", {
    form: { grant_type: "client_credentials" },
    headers: { Authorization: basic("acs_not-the-secret") },
  });
  expect(refused.status()).toBe(401);
  // Otto sees her own credential's API use.
  await otto.getByRole("row").filter({ hasText: "Otto reporting" }).getByTitle("API use of this credential").click();
  await expect(otto.getByRole("heading", { name: "API use", level: 1 })).toBeVisible();
  await expect(otto.getByRole("row").filter({ hasText: "POST /oauth/token" })).toBeVisible();
  const nav = otto.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Audit Log" })).toHaveCount(0);

  // The auditor filters the audit log: refused token requests for Otto's credential.
  const auditor = await signedIn(browser, ADMIN.username, ADMIN.password);
  await auditor.getByRole("link", { name: "Audit Log" }).click();
  await expect(auditor.getByRole("heading", { name: "Audit Log", level: 1 })).toBeVisible();
  await hydrated(auditor);
  await auditor.getByLabel("Credential").fill(clientId);
  await auditor.getByLabel("Outcome").selectOption("failure");
  await auditor.getByRole("button", { name: "Apply filters" }).click();
  await expect(auditor).toHaveURL(/outcome=failure/);
  const rows = auditor.locator("table.audit tbody tr");
  // Refused token requests are counted in memory and written once a minute
  // (docs/audit.md): the event appears at the next flush.
  await expect(async () => {
    await auditor.reload();
    await expect(rows).toHaveCount(1, { timeout: 1_000 });
  }).toPass({ timeout: 75_000, intervals: [2_000] });
  await hydrated(auditor);
  await expect(rows.first()).toContainText("token.refused");
  await expect(rows.first()).toContainText("invalid_client");
  await shot(auditor, "audit-log-filtered");

  // Export the filtered set: the file holds exactly that event, and no secret.
  const [download] = await Promise.all([
    auditor.waitForEvent("download"),
    auditor.getByRole("link", { name: "Export CSV" }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^appcred-audit-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await download.path(), "utf8");
  const lines = csv.trim().split("\r\n");
  expect(lines[0]).toBe(
    "seq,time_utc,event,outcome,actor_kind,actor_id,actor_name,ip,target_kind,target_id,target_name,details,hash",
  );
  expect(lines).toHaveLength(2);
  expect(lines[1]).toContain(",token.refused,failure,anonymous,");
  expect(lines[1]).toContain(clientId);
  expect(csv).not.toContain(secret);
  expect(csv).not.toContain("acs_not-the-secret");

  // Every credential: Otto's is listed with its owner, never its secret.
  await auditor.getByRole("link", { name: "All Credentials" }).click();
  await expect(auditor.getByRole("heading", { name: "All Credentials", level: 1 })).toBeVisible();
  await auditor.getByLabel("Filter credentials").fill("Otto reporting");
  await auditor.getByRole("button", { name: "Filter" }).click();
  const row = auditor.getByRole("row").filter({ hasText: "Otto reporting" });
  await expect(row).toContainText("otto");
  await expect(row).toContainText("Work Creator");
  await expect(row).toContainText("Active");
  await shot(auditor, "all-credentials");
  expect(await auditor.content()).not.toContain(secret);
  await row.getByRole("link", { name: "Otto reporting" }).click();
  await expect(auditor.getByRole("row").filter({ hasText: "GET /api/v1/me" })).toContainText("1");
  await shot(auditor, "credential-usage");
  expect(await auditor.content()).not.toContain(secret);

  await otto.context().close();
  await auditor.context().close();
});
