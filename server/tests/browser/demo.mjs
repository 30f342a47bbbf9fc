// The portal after ./demo.sh's story, in a real browser (see harness.mjs): what the door
// simulator admitted and the phone carried back is what the resident's and the manager's pages
// show. Run by demo/tests/api/stay.rs while `porter-demo --stay` serves, with the two one-time
// links the demo printed:
//   node demo.mjs <resident-invitation-link> <manager-invitation-link> <screenshot-dir>
// The facts it prints are the pages' rows as a person reads them; the Rust side checks them
// against what the story did (which door, which carrier, which door state).
import { start } from "./harness.mjs";

const [residentLink, managerLink, shots] = process.argv.slice(2);
if (!residentLink || !managerLink || !shots) {
  console.error("usage: node demo.mjs <resident-invitation-link> <manager-invitation-link> <screenshot-dir>");
  process.exit(2);
}
const base = new URL(residentLink).origin;
const { facts, expect, person, visit, accept, texts, finish } = await start(base, shots);
await expect(new URL(managerLink).origin === base, `the links name two servers: ${residentLink} ${managerLink}`);

// The resident: their deliveries with the door's receipt, and every entry into the building.
const resident = await person("en-GB");
await accept(resident, new URL(residentLink).pathname, "demo-resident-invitation", "/portal/resident");
await visit(resident, "/portal/resident", "demo-resident-home");
facts.resident_deliveries = await texts(resident, "table:has(#mine-caption) tbody tr");
await visit(resident, "/portal/resident/entries", "demo-resident-entries");
facts.resident_entries = await texts(resident, "table:has(#entries-caption) tbody tr");

// The manager: which door state each door's log says it took, and the doors' dashboard.
const manager = await person("en-GB");
await accept(manager, new URL(managerLink).pathname, "demo-manager-invitation", "/portal/manager");
await visit(manager, "/portal/manager/revocations", "demo-manager-revocations");
facts.door_states = await texts(manager, "#door-states li");
await visit(manager, "/portal/manager", "demo-manager-doors");

await finish();
