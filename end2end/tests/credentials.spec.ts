import { expect, test, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { createCredential, hydrated, openCreate, shot, signIn } from "./helpers";

const CLI = join(__dirname, "..", "..", "target", "debug", "appcred");
function cli(...args: string[]) {
  execFileSync(CLI, args, {
    env: { ...process.env, DATABASE_URL: `sqlite://${process.env.E2E_DATA_DIR}/e2e.db`, RUST_LOG: "warn" },
  });
}

const SECRET = /^acs_[A-Za-z0-9_-]{49}$/;

function rowOf(page: Page, name: string) {
  return page.getByRole("row").filter({ hasText: name });
}

test.describe("application credentials", () => {
  test.beforeEach(async ({ page }) => {
    await page.goto("/");
    await hydrated(page);
  });

  test("create shows the secret once, copies it, and forgets it", async ({ page, context }) => {
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await signIn(page);
    await expect(page.getByRole("heading", { name: "Application Credentials", exact: true })).toBeVisible();
    await shot(page, "credentials-empty");

    const dialog = await openCreate(page);
    await expect(dialog.getByText("Operational roles")).toBeVisible();
    await expect(dialog.getByText("Builder roles")).toBeVisible();
    // errors appear beside the field and nothing typed is lost
    await dialog.getByLabel("Name").fill("Warehouse sync");
    await dialog.getByRole("button", { name: "Generate key" }).click();
    await expect(dialog.getByText("Choose at least one role.")).toBeVisible();
    await expect(dialog.getByLabel("Name")).toHaveValue("Warehouse sync");
    await dialog.getByRole("button", { name: "90 days" }).click();
    await dialog.getByLabel("Work Creator").check();
    await dialog.getByLabel("Team Leader").check();
    await shot(page, "credentials-create");
    await dialog.getByRole("button", { name: "Generate key" }).click();

    const secretDialog = page.getByRole("dialog", { name: "Credential secret" });
    await expect(secretDialog.getByText("You will not be able to see it again")).toBeVisible();
    const secret = await secretDialog.getByRole("textbox", { name: "Client secret" }).inputValue();
    expect(secret).toMatch(SECRET);
    await shot(page, "credentials-secret-once");
    await secretDialog.getByRole("button", { name: "Copy client secret" }).click();
    await expect(secretDialog.getByRole("button", { name: "Copy client secret" })).toHaveText("Copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);

    await secretDialog.getByRole("button", { name: "Done" }).click();
    await expect(secretDialog).toBeHidden();
    const row = rowOf(page, "Warehouse sync");
    await expect(row).toBeVisible();
    await expect(row).toContainText("Work Creator");
    await expect(row).toContainText("Never");
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await expect(rowOf(page, "Warehouse sync")).toBeVisible();
    expect(await page.content()).not.toContain(secret);
    await shot(page, "credentials-list");
  });

  test("edit renames and narrows roles; Esc closes a dialog", async ({ page }) => {
    await signIn(page);
    const { secretDialog } = await createCredential(page, "Edit target", ["Work Creator", "Team Leader"]);
    await secretDialog.getByRole("button", { name: "Done" }).click();

    await rowOf(page, "Edit target").getByRole("link", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit credential" });
    await expect(edit.getByLabel("Name")).toHaveValue("Edit target");
    await page.keyboard.press("Escape");
    await expect(edit).toBeHidden();

    await rowOf(page, "Edit target").getByRole("link", { name: "Edit" }).click();
    await edit.getByLabel("Name").fill("Edited target");
    await edit.getByLabel("Team Leader").uncheck();
    await shot(page, "credentials-edit");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await expect(edit).toBeHidden();
    const row = rowOf(page, "Edited target");
    await expect(row).toContainText("Work Creator");
    await expect(row).not.toContainText("Team Leader");
  });

  test("regenerate shows a new secret after confirmation; delete removes the credential", async ({ page }) => {
    await signIn(page);
    const { secretDialog, secret: first } = await createCredential(page, "Rotate target", ["Work Creator"]);
    await secretDialog.getByRole("button", { name: "Done" }).click();

    await rowOf(page, "Rotate target").getByRole("link", { name: "Regenerate secret" }).click();
    const confirm = page.getByRole("dialog", { name: "Regenerate secret" });
    await expect(confirm).toContainText("stop working immediately");
    await expect(confirm.getByRole("button", { name: "Cancel" })).toBeFocused();
    await shot(page, "credentials-regenerate-confirm");
    await confirm.getByRole("button", { name: "Regenerate secret" }).click();
    const again = page.getByRole("dialog", { name: "Credential secret" });
    await expect(again.getByRole("heading", { name: "New secret generated" })).toBeVisible();
    const second = await again.getByRole("textbox", { name: "Client secret" }).inputValue();
    expect(second).toMatch(SECRET);
    expect(second).not.toBe(first);
    await again.getByRole("button", { name: "Done" }).click();

    await rowOf(page, "Rotate target").getByRole("link", { name: "Delete" }).click();
    const del = page.getByRole("dialog", { name: "Delete credential" });
    await expect(del).toContainText("Delete Rotate target?");
    await expect(del.getByRole("button", { name: "Cancel" })).toBeFocused();
    await del.getByRole("button", { name: "Delete credential" }).click();
    await expect(del).toBeHidden();
    await expect(rowOf(page, "Rotate target")).toHaveCount(0);
  });

  test("a role revoked from the owner is greyed out with an explanation", async ({ page }) => {
    await signIn(page, "rita", "staple battery horse 42");
    const { secretDialog } = await createCredential(page, "Rita's integration", ["Work Creator", "Team Leader"]);
    await secretDialog.getByRole("button", { name: "Done" }).click();
    cli("user", "revoke", "--username", "rita", "--role", "team_leader");
    await page.reload();
    const chip = rowOf(page, "Rita's integration").getByLabel("Team Leader (revoked)");
    await expect(chip).toHaveClass(/chip-revoked/);
    await expect(chip).toHaveAttribute("title", /Revoked from you on \d{4}-\d{2}-\d{2}\. New tokens will not get this role\./);
    await shot(page, "credentials-revoked-role");

    await rowOf(page, "Rita's integration").getByRole("link", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit credential" });
    await expect(edit.getByText("Team Leader (revoked)")).toBeVisible();
    await expect(edit.getByLabel("Team Leader (revoked)")).toBeDisabled();
  });
});

test.describe("application credentials without JavaScript", () => {
  test("create, see the secret once, and delete with plain forms @nojs", async ({ page }) => {
    await page.goto("/login");
    await page.getByLabel("Username").fill("nora");
    await page.getByLabel("Password", { exact: true }).fill("quiet river stone 77");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Application Credentials", exact: true })).toBeVisible();

    await page.getByRole("link", { name: "+ New credential" }).first().click();
    await expect(page).toHaveURL(/\/credentials\/new$/);
    await page.getByLabel("Name").fill("No-JS job");
    await page.getByRole("button", { name: "Generate key" }).click();
    await expect(page.getByText("Choose at least one role.")).toBeVisible();
    await expect(page.getByLabel("Name")).toHaveValue("No-JS job");
    await page.getByLabel("Work Creator").check();
    await page.getByRole("button", { name: "Generate key" }).click();
    await expect(page.getByRole("heading", { name: "Credential created" })).toBeVisible();
    const secret = await page.getByRole("textbox", { name: "Client secret" }).inputValue();
    expect(secret).toMatch(SECRET);
    await shot(page, "nojs-secret-once");
    await page.getByRole("link", { name: "Done" }).click();
    await expect(rowOf(page, "No-JS job")).toBeVisible();
    expect(await page.content()).not.toContain(secret);

    await rowOf(page, "No-JS job").getByRole("link", { name: "Delete" }).click();
    await expect(page.getByRole("heading", { name: "Delete No-JS job?" })).toBeVisible();
    await page.getByRole("button", { name: "Delete credential" }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(rowOf(page, "No-JS job")).toHaveCount(0);
  });
});
