import { expect, test, type Page } from "@playwright/test";
import { hydrated, shot, signIn } from "./helpers";

const SECRET = /^aps_[A-Za-z0-9_-]+$/;

function rowOf(page: Page, name: string) {
  return page.getByRole("row").filter({ hasText: name });
}

async function narrow(page: Page, name: string) {
  await page.setViewportSize({ width: 390, height: 844 });
  await shot(page, `${name}-390`);
  await page.setViewportSize({ width: 1280, height: 800 });
}

test.describe("protected APIs", () => {
  test("an Administrator creates, edits, regenerates and deletes one", async ({ page, context }) => {
    await context.grantPermissions(["clipboard-read", "clipboard-write"]);
    await page.goto("/");
    await hydrated(page);
    await signIn(page);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Protected APIs" }).click();
    await expect(page).toHaveURL(/\/protected-apis$/);
    await hydrated(page);
    await expect(page.getByRole("heading", { name: "No protected APIs yet" })).toBeVisible();
    await shot(page, "protected-apis-empty");
    await narrow(page, "protected-apis-empty");

    await page.getByRole("link", { name: "+ New protected API" }).first().click();
    const create = page.getByRole("dialog", { name: "New protected API" });
    await create.getByLabel("Name").fill("Orders API");
    await create.getByLabel("Audience").fill("http://orders.example.com");
    await create.getByRole("button", { name: "Create protected API" }).click();
    await expect(create.getByText("Use https (http only for localhost).")).toBeVisible();
    await expect(create.getByLabel("Name")).toHaveValue("Orders API");
    await shot(page, "protected-apis-create-error");
    await create.getByLabel("Audience").fill("https://orders.example.com/api");
    await create.getByRole("button", { name: "Create protected API" }).click();

    const secretDialog = page.getByRole("dialog", { name: "Protected API secret" });
    await expect(secretDialog.getByRole("heading", { name: "Protected API created" })).toBeVisible();
    await expect(secretDialog.getByText("You will not be able to see it again")).toBeVisible();
    const first = await secretDialog.getByRole("textbox", { name: "Client secret" }).inputValue();
    expect(first).toMatch(SECRET);
    const clientId = await secretDialog.getByRole("textbox", { name: "Client ID" }).inputValue();
    await shot(page, "protected-apis-secret-once");
    await narrow(page, "protected-apis-secret-once");
    await secretDialog.getByRole("button", { name: "Copy client secret" }).click();
    await expect(secretDialog.getByRole("button", { name: "Copy client secret" })).toHaveText("Copied");
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(first);
    await secretDialog.getByRole("button", { name: "Done" }).click();
    await expect(secretDialog).toBeHidden();

    const row = rowOf(page, "Orders API");
    await expect(row).toContainText("https://orders.example.com/api");
    await expect(row.getByRole("button", { name: "Copy client ID" })).toBeVisible();
    expect(await page.content()).not.toContain(first);
    await page.reload();
    await hydrated(page);
    expect(await page.content()).not.toContain(first);
    expect(await page.content()).toContain(clientId);
    await shot(page, "protected-apis-list");
    await narrow(page, "protected-apis-list");

    // edit; Esc closes the dialog first
    await rowOf(page, "Orders API").getByRole("link", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit protected API" });
    await expect(edit.getByLabel("Audience")).toHaveValue("https://orders.example.com/api");
    await page.keyboard.press("Escape");
    await expect(edit).toBeHidden();
    await rowOf(page, "Orders API").getByRole("link", { name: "Edit" }).click();
    await edit.getByLabel("Name").fill("Orders API v2");
    await edit.getByLabel("Audience").fill("https://orders.example.com/v2");
    await shot(page, "protected-apis-edit");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await expect(edit).toBeHidden();
    await expect(rowOf(page, "Orders API v2")).toContainText("https://orders.example.com/v2");

    // regenerate, after confirmation
    await rowOf(page, "Orders API v2").getByRole("link", { name: "Regenerate secret" }).click();
    const confirm = page.getByRole("dialog", { name: "Regenerate secret" });
    await expect(confirm).toContainText("The current secret stops working immediately");
    await expect(confirm.getByRole("button", { name: "Cancel" })).toBeFocused();
    await shot(page, "protected-apis-regenerate-confirm");
    await confirm.getByRole("button", { name: "Regenerate secret" }).click();
    const again = page.getByRole("dialog", { name: "Protected API secret" });
    await expect(again.getByRole("heading", { name: "New secret generated" })).toBeVisible();
    const second = await again.getByRole("textbox", { name: "Client secret" }).inputValue();
    expect(second).toMatch(SECRET);
    expect(second).not.toBe(first);
    await again.getByRole("button", { name: "Done" }).click();

    // delete, after confirmation
    await rowOf(page, "Orders API v2").getByRole("link", { name: "Delete" }).click();
    const del = page.getByRole("dialog", { name: "Delete protected API" });
    await expect(del).toContainText("Delete Orders API v2?");
    await expect(del).toContainText("every token bound to its audience ends");
    await expect(del.getByRole("button", { name: "Cancel" })).toBeFocused();
    await shot(page, "protected-apis-delete-confirm");
    await del.getByRole("button", { name: "Delete protected API" }).click();
    await expect(del).toBeHidden();
    await expect(rowOf(page, "Orders API v2")).toHaveCount(0);
    await expect(page.getByRole("heading", { name: "No protected APIs yet" })).toBeVisible();
  });

  test("others see no entry and are refused the page", async ({ page }) => {
    await page.goto("/");
    await hydrated(page);
    await signIn(page, "mallory", "blue lantern ocean 5");
    await expect(page.getByRole("heading", { name: "Application Credentials", exact: true })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Protected APIs" })).toHaveCount(0);
    await page.goto("/protected-apis");
    await expect(page.getByRole("alert")).toBeVisible();
    await shot(page, "protected-apis-refused");
  });
});

test.describe("protected APIs without JavaScript", () => {
  test("create, see the secret once, and delete with plain forms @nojs", async ({ page }) => {
    await page.goto("/login");
    await signIn(page);
    await page.goto("/protected-apis");
    await page.getByRole("link", { name: "+ New protected API" }).first().click();
    await expect(page).toHaveURL(/\/protected-apis\/new$/);
    await page.getByLabel("Name").fill("No-JS API");
    await page.getByLabel("Audience").fill("ftp://nojs.example.com");
    await page.getByRole("button", { name: "Create protected API" }).click();
    await expect(page.getByText("Use an https URI.")).toBeVisible();
    await expect(page.getByLabel("Name")).toHaveValue("No-JS API");
    await shot(page, "protected-apis-nojs-error");
    await page.getByLabel("Audience").fill("http://localhost:9000/api");
    await page.getByRole("button", { name: "Create protected API" }).click();
    await expect(page.getByRole("heading", { name: "Protected API created" })).toBeVisible();
    const secret = await page.getByRole("textbox", { name: "Client secret" }).inputValue();
    expect(secret).toMatch(SECRET);
    expect(page.url()).not.toContain(secret);
    await shot(page, "protected-apis-nojs-secret-once");
    await page.getByRole("link", { name: "Done" }).click();
    await expect(rowOf(page, "No-JS API")).toContainText("http://localhost:9000/api");
    expect(await page.content()).not.toContain(secret);

    await rowOf(page, "No-JS API").getByRole("link", { name: "Delete" }).click();
    await expect(page.getByRole("heading", { name: "Delete No-JS API?" })).toBeVisible();
    await shot(page, "protected-apis-nojs-delete");
    await page.getByRole("button", { name: "Delete protected API" }).click();
    await expect(page).toHaveURL(/\/protected-apis$/);
    await expect(rowOf(page, "No-JS API")).toHaveCount(0);
  });
});
