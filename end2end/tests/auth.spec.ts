import { expect, test } from "@playwright/test";
import { ADMIN, hydrated, shot, signIn, signOut } from "./helpers";

test.describe("signing in and out", () => {
  test("an admin signs in, sees the shell and signs out", async ({ page }) => {
    await page.goto("/");
    await expect(page).toHaveURL(/\/login$/);
    await hydrated(page);
    await shot(page, "login");
    await signIn(page);

    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByRole("heading", { name: "Application Credentials", exact: true })).toBeVisible();
    await expect(page.getByLabel("Account menu")).toContainText(ADMIN.name);
    await expect(
      page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Application Credentials" }),
    ).toHaveAttribute("aria-current", "page");
    await shot(page, "home");

    await page.getByLabel("Account menu").click();
    await expect(page.getByRole("menu")).toContainText("Administrator");
    await shot(page, "user-menu");
    await page.getByRole("menuitem", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login/);

    // the old session is gone: the home page sends us back to sign-in
    await page.goto("/");
    await expect(page).toHaveURL(/\/login$/);
  });

  test("a wrong password shows a clear error that does not reveal whether the user exists", async ({ page }) => {
    await page.goto("/login");
    await hydrated(page);
    await signIn(page, "mallory", "not mallory's password");
    const alert = page.getByRole("alert");
    await expect(alert).toHaveText("Incorrect username or password.");
    await expect(page.getByLabel("Username")).toHaveValue("mallory");
    await shot(page, "login-error");

    await signIn(page, "no-such-user", "not mallory's password");
    await expect(page.getByRole("alert")).toHaveText("Incorrect username or password.");
    await expect(page).toHaveURL(/\/login/);
  });

  test("a page asked for while signed out is shown after signing in", async ({ page }) => {
    await page.goto("/?tab=roles");
    await expect(page).toHaveURL(/\/login\?next=/);
    await hydrated(page);
    await signIn(page);
    await expect(page).toHaveURL(/\/\?tab=roles$/);
    await expect(page.getByRole("heading", { name: "Application Credentials", exact: true })).toBeVisible();
    await signOut(page);
  });

  test("the page is interactive after hydration", async ({ page }) => {
    await page.goto("/login");
    await hydrated(page);
    const password = page.getByLabel("Password", { exact: true });
    await password.fill("visible now?");
    await expect(password).toHaveAttribute("type", "password");
    await page.getByRole("button", { name: "Show" }).click();
    await expect(password).toHaveAttribute("type", "text");
    await page.getByRole("button", { name: "Hide" }).click();
    await expect(password).toHaveAttribute("type", "password");
  });
});

test.describe("without JavaScript", () => {
  test("signing in and out works as plain form posts @nojs", async ({ page }) => {
    await page.goto("/");
    await expect(page).toHaveURL(/\/login$/);
    await expect(page.getByRole("button", { name: "Show" })).toHaveCount(0);
    await page.getByLabel("Username").fill("mallory");
    await page.getByLabel("Password", { exact: true }).fill("wrong password for mallory");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert")).toHaveText("Incorrect username or password.");

    await page.getByLabel("Username").fill(ADMIN.username);
    await page.getByLabel("Password", { exact: true }).fill(ADMIN.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Application Credentials", exact: true })).toBeVisible();
    await page.locator("summary").click();
    await page.getByRole("menuitem", { name: "Sign out" }).click();
    await expect(page).toHaveURL(/\/login/);
    await page.goto("/");
    await expect(page).toHaveURL(/\/login$/);
  });
});
