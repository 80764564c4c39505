import { expect, type Page } from "@playwright/test";

export const ADMIN = { username: "admin", password: "orchid tunnel 2026 e2e", name: "Administrator" };

/** Waits until the wasm bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await page.locator("body[data-hydrated=true]").waitFor({ state: "attached" });
}

export async function signIn(page: Page, username = ADMIN.username, password = ADMIN.password) {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

export async function signOut(page: Page) {
  await page.getByLabel("Account menu").click();
  await page.getByRole("menuitem", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
}

export async function shot(page: Page, name: string) {
  await page.screenshot({ path: `screenshots/${name}.png`, fullPage: true });
}

/** Collects Content-Security-Policy violations reported on the page. */
export function cspViolations(page: Page): string[] {
  const seen: string[] = [];
  page.on("console", (msg) => {
    if (msg.text().includes("Content Security Policy") || msg.text().includes("Content-Security-Policy")) {
      seen.push(msg.text());
    }
  });
  return seen;
}

/** Opens the New credential dialog from the list page. */
export async function openCreate(page: Page) {
  await page.getByRole("link", { name: "+ New credential" }).first().click();
  return page.getByRole("dialog", { name: "New credential" });
}

/** Creates a credential in the dialog and reads the client ID and secret shown once. */
export async function createCredential(page: Page, name: string, roles: string[]) {
  const dialog = await openCreate(page);
  await dialog.getByLabel("Name").fill(name);
  for (const role of roles) await dialog.getByLabel(role).check();
  await dialog.getByRole("button", { name: "Generate key" }).click();
  const secretDialog = page.getByRole("dialog", { name: "Credential secret" });
  await expect(secretDialog.getByRole("heading", { name: "Credential created" })).toBeVisible();
  const clientId = await secretDialog.getByRole("textbox", { name: "Client ID" }).inputValue();
  const secret = await secretDialog.getByRole("textbox", { name: "Client secret" }).inputValue();
  return { secretDialog, clientId, secret };
}
