// The portal in a real browser (see harness.mjs). Run by tests/portal/browser.rs, which starts
// the server with a set-up site and passes:
//   node portal.mjs <base-url> <manager-invitation-path> <screenshot-dir>
import { start } from "./harness.mjs";

const [base, managerInvite, shots] = process.argv.slice(2);
if (!base || !managerInvite || !shots) {
  console.error("usage: node portal.mjs <base-url> <manager-invitation-path> <screenshot-dir>");
  process.exit(2);
}
const { facts, expect, person, check, visit, ceremony, finish } = await start(base, shots);

// 1. The manager accepts the operator's invitation and makes a passkey.
const manager = await person("en-GB");
await visit(manager, managerInvite, "invitation");
await ceremony(manager, "passkey-register");
await expect(new URL(manager.page.url()).pathname === "/portal/manager", "the manager did not land on the dashboard");
// The invitation works once.
const again = await manager.page.goto(base + managerInvite);
await expect(again.status() === 404, `a used invitation answered ${again.status()}`);

// 2. Every manager page, checked and photographed.
for (const [path, name] of [
  ["/portal/manager", "manager-doors"],
  ["/portal/manager/carriers", "manager-carriers"],
  ["/portal/manager/deliveries", "manager-deliveries"],
  ["/portal/manager/log", "manager-log"],
  ["/portal/manager/residents", "manager-residents"],
  ["/portal/manager/tokens", "manager-tokens"],
  ["/portal/manager/revocations", "manager-revocations"],
]) {
  await visit(manager, path, name);
}

// 3. The manager invites a resident of unit 4B from the residents page.
await manager.page.goto(base + "/portal/manager/residents");
const form = manager.page.locator("form", { has: manager.page.locator('input[name="unit_id"]') }).first();
await form.locator('input[name="display_name"]').fill("Nadia Resident");
await form.locator('input[name="email"]').fill("nadia@example.org");
await Promise.all([manager.page.waitForURL("**/residents/invite"), form.locator("button").click()]);
await check(manager, "manager-invitation-made");
const residentInvite = new URL(await manager.page.inputValue("#link")).pathname;

// 4. The resident (a French browser) accepts it with a passkey of their own.
const resident = await person("fr-FR");
await visit(resident, residentInvite, "invitation-fr");
await expect((await resident.page.textContent("h1")).includes("Bienvenue"), "the invitation is not in French");
await ceremony(resident, "passkey-register");
await expect(new URL(resident.page.url()).pathname === "/portal/resident", "the resident did not land on their home");
for (const [path, name] of [
  ["/portal/resident", "resident-home"],
  ["/portal/resident/entries", "resident-entries"],
  ["/portal/resident/settings", "resident-settings"],
]) {
  await visit(resident, path, name);
}
// The account made in a French browser writes its emails in French until told otherwise.
facts.email_lang = await resident.page.inputValue("#email-lang");
// The language switch, without JavaScript: a link.
await resident.page.click('a[hreflang="en"]');
await expect((await resident.page.textContent("h1")).includes("Settings"), "the switch to English did not take");

// 5. What each role cannot see: the resident is refused the manager's pages.
for (const path of ["/portal/manager", "/portal/manager/residents", "/portal/manager/log.csv"]) {
  const r = await resident.page.goto(base + path);
  await expect(r.status() === 403, `the resident got ${r.status()} for ${path}`);
}
const r = await manager.page.goto(base + "/portal/resident");
await expect(r.status() === 403, `the manager got ${r.status()} for the resident's home`);

// 6. CSRF: a form with a forged token is refused and changes nothing.
await resident.page.goto(base + "/portal/resident/settings");
const forged = await Promise.all([
  resident.page.waitForNavigation(),
  resident.page.evaluate(() => {
    const f = document.querySelector('form[action="/portal/resident/opt-out"]');
    f.querySelector('input[name="csrf"]').value = "forged";
    f.querySelector("#opt-out").checked = true;
    f.submit();
  }),
]);
await expect(forged[0].status() === 403, `a forged form answered ${forged[0].status()}`);
await resident.page.goto(base + "/portal/resident/settings");
await expect(await resident.page.isChecked("#opt-in"), "a forged form changed the opt-out");

// 7. The resident opts out through the real form (the Rust side then asks for a grant).
await resident.page.check("#opt-out");
await Promise.all([resident.page.waitForURL("**/resident/settings"), resident.page.click('form[action="/portal/resident/opt-out"] button')]);
await expect(await resident.page.isChecked("#opt-out"), "the opt-out was not saved");
facts.opted_out = true;

// 8. Sign out, then sign in again with the passkey (a discoverable credential: no name typed).
await Promise.all([resident.page.waitForURL("**/sign-in"), resident.page.click(".sign-out button")]);
const after = await resident.page.goto(base + "/portal/resident");
await expect(new URL(resident.page.url()).pathname === "/portal/sign-in", `after sign-out: ${after.status()} ${resident.page.url()}`);
await check(resident, "sign-in");
await ceremony(resident, "passkey-sign-in");
await expect(new URL(resident.page.url()).pathname === "/portal/resident", "passkey sign-in did not land home");
facts.signed_in_again = true;

// The cookie the browser holds is Secure, HttpOnly and SameSite=Strict.
const cookies = await resident.context.cookies();
const session = cookies.find((c) => c.name === "porter_session");
await expect(session && session.secure && session.httpOnly && session.sameSite === "Strict", `session cookie: ${JSON.stringify(session)}`);

await finish();
