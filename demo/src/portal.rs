//! Step 7: the web portal. The operator invites the site's manager and flat 4B's resident with
//! the real `porter invite-manager` and `porter invite-resident`, and the demo checks each
//! one-time link serves its invitation page without using it up.

use std::path::Path;

use crate::http::Api;
use crate::procs::Programs;
use crate::{Failure, Narrator};

/// The portal's address and the two one-time invitation links the demo printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalLinks {
    /// `http://localhost:<port>/portal`.
    pub portal: String,
    /// The site manager's invitation link.
    pub manager: String,
    /// Flat 4B's resident's invitation link.
    pub resident: String,
}

/// Who the demo invites.
pub(crate) struct Invitees<'a> {
    pub site_id: &'a str,
    pub manager_name: &'a str,
    pub resident_id: &'a str,
    pub resident_name: &'a str,
}

/// Invites the manager and the resident, checks their links, and prints how to use them.
pub(crate) fn invite(
    p: &Programs,
    n: &mut Narrator,
    api: &Api,
    server_dir: &Path,
    who: &Invitees<'_>,
) -> Result<PortalLinks, Failure> {
    n.step(7, "The portal: the manager and the resident are invited to the web pages");
    // The CLI reads the server's database, and its `listen` port makes the printed link's
    // address: `http://localhost:<port>` (the portal's default `portal_url`).
    let port =
        api.base().rsplit_once(':').map(|(_, port)| port.to_string()).ok_or_else(|| {
            Failure::new(format!("the server's address {} has no port", api.base()))
        })?;
    let data_dir = server_dir.to_string_lossy().into_owned();
    let listen = format!("127.0.0.1:{port}");
    let env = [("PORTER_DATA_DIR", data_dir.as_str()), ("PORTER_LISTEN", listen.as_str())];
    let manager = p
        .porter(&["invite-manager", "--site", who.site_id, "--name", who.manager_name], &env)?
        .trim()
        .to_string();
    let resident = p
        .porter(&["invite-resident", "--site", who.site_id, "--resident", who.resident_id], &env)?
        .trim()
        .to_string();
    let portal = format!("http://localhost:{port}/portal");
    for (link, name) in [(&manager, who.manager_name), (&resident, who.resident_name)] {
        check_link(api, &portal, link, name)?;
    }
    n.say("Operator", "invited the manager with `porter invite-manager`");
    n.say("Operator", "invited flat 4B's resident with `porter invite-resident`");
    n.line("");
    n.line(&format!("  The portal:          {portal}"));
    n.line(&format!("  Manager's invitation ({}): {manager}", who.manager_name));
    n.line(&format!("  Resident's invitation ({}, flat 4B): {resident}", who.resident_name));
    n.line("");
    n.line("  Each link works once (7 days): open it in a browser on this machine to make the");
    n.line("  account and its passkey. Use the localhost address as printed: the portal's");
    n.line("  cookies are Secure, which browsers honour on http://localhost (a secure context),");
    n.line("  and passkeys are bound to the name `localhost`, so 127.0.0.1 will not do.");
    Ok(PortalLinks { portal, manager, resident })
}

/// Checks `link` is under the portal and serves the invitation page for `name`, twice: looking
/// at an invitation must not use it up (only registering a passkey does).
fn check_link(api: &Api, portal: &str, link: &str, name: &str) -> Result<(), Failure> {
    let path = link
        .strip_prefix(portal.trim_end_matches("/portal"))
        .filter(|p| p.starts_with("/portal/invitations/"))
        .ok_or_else(|| {
            Failure::new(format!("the invitation link {link:?} is not under {portal}"))
        })?;
    for attempt in ["first", "second"] {
        let (status, page) = api.page(path)?;
        if status != 200 || !page.contains(r#"id="passkey-register""#) || !page.contains(name) {
            return Err(Failure::new(format!(
                "the {attempt} look at {name}'s invitation {link} should show its page (200, a \
                 passkey button, their name): it answered {status}"
            )));
        }
    }
    Ok(())
}
