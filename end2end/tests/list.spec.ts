import { expect, test } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { hydrated, shot, signIn } from "./helpers";

const CLI = join(__dirname, "..", "..", "target", "debug", "appcred");
function cli(...args: string[]): string {
  return execFileSync(CLI, args, {
    env: { ...process.env, DATABASE_URL: `sqlite://${process.env.E2E_DATA_DIR}/e2e.db`, RUST_LOG: "warn" },
  }).toString();
}

test("a long list filters, sorts and paginates, and long names stay tidy", async ({ page }) => {
  const long = "Nightly reconciliation of supplier invoices against the purchase ledger for the EMEA region";
  for (let i = 0; i < 27; i++) {
    const name = i === 0 ? long : `Integration ${String(i).padStart(2, "0")}`;
    cli("credential", "create", "--username", "lena", "--name", name, "--role", "work_creator");
  }
  await page.goto("/");
  await hydrated(page);
  await signIn(page, "lena", "maple harbor 314 tide");
  await expect(page.getByText("27 credentials")).toBeVisible();
  await expect(page.getByText("Page 1 of 2")).toBeVisible();
  await expect(page.getByRole("row")).toHaveCount(26); // header + 25
  await shot(page, "credentials-many");

  await page.getByRole("link", { name: "Next" }).click();
  await expect(page.getByText("Page 2 of 2")).toBeVisible();
  await expect(page.getByRole("row")).toHaveCount(3);

  await page.getByRole("link", { name: "Name" }).click();
  await expect(page).toHaveURL(/sort=name&dir=desc/);
  await expect(page.getByRole("row").nth(1)).toContainText("Nightly reconciliation");

  await page.getByLabel("Filter credentials").fill("integration 1");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByText("10 credentials")).toBeVisible();

  await page.getByLabel("Filter credentials").fill("no such thing");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByText("No credentials match this filter")).toBeVisible();
});
