import { expect, test } from "@playwright/test";
import { createCredential, hydrated, signIn } from "./helpers";

// A stock OAuth library, unmodified: openid-client (RFC 8414 discovery, then
// the client credentials grant with client_secret_basic and client_secret_post).
test("a stock OAuth client library gets tokens, and a regenerated secret retires the old one", async ({
  page,
  baseURL,
  request,
}) => {
  const oc = await import("openid-client");

  await page.goto("/");
  await hydrated(page);
  await signIn(page, "nora", "quiet river stone 77");
  const { secretDialog, clientId, secret } = await createCredential(page, "openid-client", ["Work Creator"]);
  await secretDialog.getByRole("button", { name: "Done" }).click();

  const discover = (s: string, auth: "basic" | "post") =>
    oc.discovery(
      new URL(baseURL!),
      clientId,
      undefined,
      auth === "basic" ? oc.ClientSecretBasic(s) : oc.ClientSecretPost(s),
      { execute: [oc.allowInsecureRequests], algorithm: "oauth2" },
    );

  for (const auth of ["basic", "post"] as const) {
    const config = await discover(secret, auth);
    const tokens = await oc.clientCredentialsGrant(config, { scope: "work_creator" });
    expect(tokens.token_type.toLowerCase()).toBe("bearer");
    expect(tokens.expires_in).toBeGreaterThan(0);
    const me = await request.get("/api/v1/me", { headers: { Authorization: `Bearer ${tokens.access_token}` } });
    expect(me.status()).toBe(200);
    expect((await me.json()).roles).toEqual(["work_creator"]);
  }

  // regenerate in the UI: the old secret is rejected at once, the new one works
  await page.getByRole("row").filter({ hasText: "openid-client" }).getByRole("link", { name: "Regenerate secret" }).click();
  await page.getByRole("dialog", { name: "Regenerate secret" }).getByRole("button", { name: "Regenerate secret" }).click();
  const again = page.getByRole("dialog", { name: "Credential secret" });
  const fresh = await again.getByRole("textbox", { name: "Client secret" }).inputValue();
  await again.getByRole("button", { name: "Done" }).click();

  const old = await discover(secret, "basic");
  const err: any = await oc.clientCredentialsGrant(old).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  expect(err.status ?? err.response?.status).toBe(401);
  const raw = await request.post("/oauth/token", {
    form: { grant_type: "client_credentials" },
    headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString("base64")}` },
  });
  expect(raw.status()).toBe(401);
  expect((await raw.json()).error).toBe("invalid_client");
  const renewed = await oc.clientCredentialsGrant(await discover(fresh, "basic"));
  expect(renewed.access_token).toMatch(/^act_/);
});
