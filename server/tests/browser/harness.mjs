// What both browser runs share: Debian's Chromium, headless, driven over the DevTools protocol
// (playwright-core, no browser download); a person with their own profile and virtual passkey
// authenticator; every visited page checked by axe-core and photographed at desktop and phone
// width; the passkey ceremonies. Each run prints one JSON line of facts for the Rust side to
// check, and exits non-zero on the first surprise (with the reason).
import { chromium } from "playwright-core";
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";

const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");

// Starts Chromium for a portal at `base`; screenshots go to `shots`.
export async function start(base, shots) {
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const facts = { pages: [], axe_violations: 0 };
  const fail = async (why) => {
    console.error("BROWSER TEST FAILED: " + why);
    await browser.close();
    process.exit(1);
  };
  const expect = async (cond, why) => {
    if (!cond) await fail(why);
  };

  // A person: their own browser profile (cookies) and their own virtual passkey authenticator.
  async function person(locale) {
    // bypassCSP lets axe-core be injected; the pages' own policy is checked by the Rust tests.
    const context = await browser.newContext({ locale, bypassCSP: true, viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable");
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: {
        protocol: "ctap2", transport: "internal", hasResidentKey: true,
        hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
      },
    });
    return { context, page, cdp, authenticatorId };
  }

  // Every page visited: accessibility check (WCAG 2.x A and AA rules) and two screenshots.
  async function check(p, name) {
    await p.page.addScriptTag({ path: AXE });
    const result = await p.page.evaluate(async () =>
      // eslint-disable-next-line no-undef
      await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } }));
    for (const v of result.violations) {
      console.error(`axe: ${name}: ${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(" | ")})`);
    }
    facts.axe_violations += result.violations.length;
    await p.page.setViewportSize({ width: 1280, height: 800 });
    await p.page.screenshot({ path: `${shots}/${name}-desktop.png`, fullPage: true });
    await p.page.setViewportSize({ width: 390, height: 844 });
    await p.page.screenshot({ path: `${shots}/${name}-phone.png`, fullPage: true });
    // At phone width nothing may scroll sideways but the tables' own regions.
    const wide = await p.page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
    await expect(!wide, `${name} scrolls sideways at phone width`);
    await p.page.setViewportSize({ width: 1280, height: 800 });
    facts.pages.push(name);
  }

  async function visit(p, path, name) {
    const r = await p.page.goto(base + path);
    await expect(r.status() === 200, `${path} answered ${r.status()}`);
    await check(p, name);
    return r;
  }

  // Clicks a passkey button and waits for the page it leads to.
  async function ceremony(p, buttonId) {
    await Promise.all([
      p.page.waitForURL((u) => !u.pathname.startsWith("/portal/invitations") && !u.pathname.startsWith("/portal/sign-in"), { timeout: 15000 }),
      p.page.click("#" + buttonId),
    ]).catch(async (e) => {
      const status = await p.page.textContent("#passkey-status").catch(() => "");
      await fail(`${buttonId}: ${e.message} (page says: ${status})`);
    });
  }

  // Opens a one-time invitation link, makes the passkey, and checks where it lands.
  async function accept(p, invitationPath, name, home) {
    await visit(p, invitationPath, name);
    await ceremony(p, "passkey-register");
    const at = new URL(p.page.url()).pathname;
    await expect(at === home, `${name}: the new account landed on ${at}, not ${home}`);
  }

  // The trimmed text of each element matching `selector` on the current page.
  async function texts(p, selector) {
    return (await p.page.locator(selector).allTextContents()).map((t) => t.replace(/\s+/g, " ").trim());
  }

  // Closes the browser and prints the facts (the last line of standard output).
  async function finish() {
    await browser.close();
    console.log(JSON.stringify(facts));
  }

  return { browser, facts, fail, expect, person, check, visit, ceremony, accept, texts, finish };
}
