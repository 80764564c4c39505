import { expect, test, type APIRequestContext, type Browser, type Page } from "@playwright/test";
import { cspViolations, createCredential, hydrated, shot, signIn } from "./helpers";

// Issue #5: a User Manager removes a role in the Users page; the token that
// carries it dies at the next call, the owner's credential shows the role
// greyed with its date, and a new token carries only the remaining role.

const violations: string[][] = [];

async function signedIn(browser: Browser, username: string, password: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  violations.push(cspViolations(page));
  await page.goto("/");
  await hydrated(page);
  await signIn(page, username, password);
  await expect(page.getByRole("heading", { name: "Application Credentials", level: 1 })).toBeVisible();
  return page;
}

async function token(request: APIRequestContext, id: string, secret: string, scope?: string) {
  return request.post("/oauth/token", {
    form: scope ? { grant_type: "client_credentials", scope } : { grant_type: "client_credentials" },
    headers: { Authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}` },
  });
}

async function me(request: APIRequestContext, accessToken: string) {
  return request.get("/api/v1/me", { headers: { Authorization: `Bearer ${accessToken}` } });
}

async function openUser(admin: Page, username: string) {
  await admin.getByRole("link", { name: "Users" }).click();
  await admin.getByLabel("Find users").fill(username);
  await admin.getByRole("button", { name: "Find" }).click();
  await admin.getByRole("link", { name: `Manage ${username}` }).click();
  await expect(admin.getByRole("heading", { name: "Roles" })).toBeVisible();
  await hydrated(admin);
}

test("a User Manager removes a role: the token carrying it dies, the credential greys it out", async ({
  browser,
  request,
}) => {
  const admin = await signedIn(browser, "admin", "orchid tunnel 2026 e2e");

  // The User Manager creates user A with two roles and a chosen password.
  await admin.getByRole("link", { name: "Users" }).click();
  await expect(admin.getByRole("heading", { name: "Users", level: 1 })).toBeVisible();
  await hydrated(admin);
  await admin.getByRole("button", { name: "+ New user" }).click();
  const form = admin.getByRole("dialog", { name: "New user" });
  await form.getByLabel("Username").fill("ursula");
  await form.getByLabel("Display name").fill("Ursula Example");
  await form.getByLabel("Initial password").fill("short");
  await form.getByLabel("Work Creator").check();
  await form.getByLabel("Team Leader").check();
  await form.getByRole("button", { name: "Create user" }).click();
  // a refused password keeps everything typed, with the reason beside it
  await expect(form.locator(".field-error")).toContainText("at least 12");
  await expect(form.getByLabel("Username")).toHaveValue("ursula");
  await expect(form.getByLabel("Team Leader")).toBeChecked();
  await form.getByLabel("Initial password").fill("violet canyon breeze 88");
  await form.getByRole("button", { name: "Create user" }).click();
  const done = admin.getByRole("dialog", { name: "User created" });
  await expect(done).toContainText("The password you chose is set.");
  await done.getByRole("button", { name: "Done" }).click();
  await expect(admin.getByRole("row").filter({ hasText: "ursula" })).toContainText("Team Leader");
  await shot(admin, "users-list");

  // A creates a credential with both roles and gets a token for it.
  const owner = await signedIn(browser, "ursula", "violet canyon breeze 88");
  const { secretDialog, clientId, secret } = await createCredential(owner, "Ursula sync", ["Work Creator", "Team Leader"]);
  await secretDialog.getByRole("button", { name: "Done" }).click();

  const first = await token(request, clientId, secret);
  expect(first.status()).toBe(200);
  const both = await first.json();
  expect(both.scope).toBe("work_creator team_leader");
  expect((await me(request, both.access_token)).status()).toBe(200);

  // The User Manager removes Team Leader from A in the Users page.
  await openUser(admin, "ursula");
  const row = admin.locator(".role-row[data-role=team_leader]");
  await expect(row).toContainText("Held");
  await row.getByRole("button", { name: "Remove Team Leader" }).click();
  const confirm = admin.getByRole("dialog", { name: "Remove role" });
  await expect(confirm).toContainText("ends now");
  await shot(admin, "user-remove-role-confirm");
  await confirm.getByRole("button", { name: "Remove role" }).click();
  await expect(row).toContainText("Removed");
  await expect(row.getByRole("button", { name: "Grant Team Leader" })).toBeVisible();
  await shot(admin, "user-detail");

  // The token that carries it is rejected at the next call.
  const dead = await me(request, both.access_token);
  expect(dead.status()).toBe(401);
  expect(dead.headers()["www-authenticate"]).toContain('error="invalid_token"');

  // A's credential shows the role greyed, with its explanation.
  await owner.reload();
  await hydrated(owner);
  const credRow = owner.getByRole("row").filter({ hasText: "Ursula sync" });
  const greyed = credRow.locator(".chip-revoked");
  await expect(greyed).toHaveText("Team Leader");
  await expect(greyed).toHaveAttribute("title", /^Revoked from you on \d{4}-\d{2}-\d{2}\. New tokens will not get this role\.$/);
  await expect(credRow.locator(".rights")).toContainText("New tokens get: Work Creator.");
  await expect(credRow.locator(".rights")).toContainText(/Not included: Team Leader \(revoked \d{4}-\d{2}-\d{2}\)/);
  await shot(owner, "credentials-role-revoked");
  await credRow.getByRole("link", { name: "Edit" }).click();
  const edit = owner.getByRole("dialog", { name: "Edit credential" });
  await expect(edit.getByLabel("Team Leader (revoked)")).toBeDisabled();
  await expect(edit.locator(".rights")).toContainText("New tokens get: Work Creator.");
  await expect(edit.locator(".rights")).toContainText("Team Leader was revoked from you on");
  await shot(owner, "credential-role-revoked-edit");
  await edit.getByRole("button", { name: "Cancel" }).click();

  // A new token carries only the remaining role; asking for the lost one is refused.
  const second = await (await token(request, clientId, secret)).json();
  expect(second.scope).toBe("work_creator");
  expect((await me(request, second.access_token)).status()).toBe(200);
  const asked = await token(request, clientId, secret, "team_leader");
  expect(asked.status()).toBe(400);
  expect((await asked.json()).error).toBe("invalid_scope");

  // Deactivating A kills every token and ends A's session; reactivating lets A back in.
  await admin.getByRole("button", { name: "Deactivate user" }).click();
  const deactivate = admin.getByRole("dialog", { name: "Deactivate user" });
  await deactivate.getByRole("button", { name: "Deactivate user" }).click();
  await expect(admin.locator(".page-head h1")).toContainText("Deactivated");
  expect((await me(request, second.access_token)).status()).toBe(401);
  expect((await token(request, clientId, secret)).status()).toBe(401);
  await owner.reload();
  await expect(owner).toHaveURL(/\/login/);
  await admin.getByRole("button", { name: "Reactivate user" }).click();
  await expect(admin.locator(".page-head h1")).toContainText("Active");
  expect((await token(request, clientId, secret)).status()).toBe(200);

  await admin.context().close();
  await owner.context().close();
  // the hydrated app runs under the nonce-based CSP without a single violation
  expect(violations.flat()).toEqual([]);
});

test("an Administrator switches the API off and on in General Settings", async ({ browser, request }) => {
  const admin = await signedIn(browser, "admin", "orchid tunnel 2026 e2e");
  await admin.getByRole("link", { name: "General Settings" }).click();
  await expect(admin.getByRole("heading", { name: "General Settings", level: 1 })).toBeVisible();
  await hydrated(admin);
  await expect(admin.getByLabel("Idle timeout (minutes)").first()).toHaveValue("20");
  await expect(admin.getByLabel("Absolute lifetime (seconds)")).toHaveValue("3600");
  await shot(admin, "settings");

  await admin.getByLabel("Allow token requests and API calls").uncheck();
  await admin.getByRole("button", { name: "Save settings" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Settings saved" })).toBeVisible();

  const refused = await token(request, "any-client", "any-secret");
  expect(refused.status()).toBeGreaterThanOrEqual(400);
  expect((await refused.json()).error_description).toContain("switched off");
  const api = await me(request, "act_anything");
  expect(api.status()).toBeGreaterThanOrEqual(400);
  await admin.getByRole("link", { name: "Application Credentials" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "API access is switched off" })).toBeVisible();
  await shot(admin, "credentials-api-off");

  await admin.getByRole("link", { name: "General Settings" }).click();
  await hydrated(admin);
  await admin.getByLabel("Allow token requests and API calls").check();
  await admin.getByRole("button", { name: "Save settings" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Settings saved" })).toBeVisible();
  await admin.getByRole("link", { name: "Application Credentials" }).click();
  await expect(admin.getByRole("heading", { name: "Application Credentials", level: 1 })).toBeVisible();
  await expect(admin.getByText("API access is switched off")).toHaveCount(0);
  await admin.context().close();
});

test("users without the role see neither Users nor General Settings", async ({ browser }) => {
  const page = await signedIn(browser, "mallory", "blue lantern ocean 5");
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Application Credentials" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Users" })).toHaveCount(0);
  await expect(nav.getByRole("link", { name: "General Settings" })).toHaveCount(0);
  await page.goto("/settings");
  await expect(page.getByRole("alert")).toContainText("permission");
  await page.goto("/users");
  await expect(page.getByRole("alert")).toContainText("permission");
  await page.context().close();
});

test("an Administrator chooses what a role change ends, and the Users page says so first", async ({ browser }) => {
  const admin = await signedIn(browser, "admin", "orchid tunnel 2026 e2e");
  await openUser(admin, "rita");
  const rule = admin.locator(".role-change-rule");
  await expect(rule).toContainText("Every access token of this user's credentials ends now");

  await admin.getByRole("link", { name: "General Settings" }).click();
  await hydrated(admin);
  const everyToken = admin.getByLabel("End every token of that user (on a grant or a removal)");
  const onlyCarrying = admin.getByLabel("End only the tokens that carry a removed role");
  await expect(everyToken).toBeChecked();
  await onlyCarrying.check();
  await admin.getByRole("button", { name: "Save settings" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Settings saved" })).toBeVisible();
  await shot(admin, "settings-role-change-rule");
  await admin.setViewportSize({ width: 390, height: 844 });
  await shot(admin, "settings-role-change-rule-390");
  await admin.setViewportSize({ width: 1280, height: 800 });

  await openUser(admin, "rita");
  await expect(rule).toContainText("Granting a role: No access token ends");
  await expect(rule).toContainText("The access tokens that carry this role end now");
  await shot(admin, "user-detail-narrow-rule");
  await admin.setViewportSize({ width: 390, height: 844 });
  await shot(admin, "user-detail-narrow-rule-390");
  await admin.setViewportSize({ width: 1280, height: 800 });

  // Back to the default for the tests that follow.
  await admin.getByRole("link", { name: "General Settings" }).click();
  await hydrated(admin);
  await everyToken.check();
  await admin.getByRole("button", { name: "Save settings" }).click();
  await expect(admin.getByRole("status").filter({ hasText: "Settings saved" })).toBeVisible();
  await admin.context().close();
});
