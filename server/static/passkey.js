// Porter portal: the two passkey ceremonies (the only script; every other page works without
// JavaScript). The server sends WebAuthn options with base64url strings; the browser API wants
// ArrayBuffers, and the server wants base64url back.
"use strict";
(function () {
  const b64uToBuf = (s) => {
    const pad = "=".repeat((4 - (s.length % 4)) % 4);
    const bin = atob((s + pad).replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0)).buffer;
  };
  const bufToB64u = (buf) => {
    let bin = "";
    for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const post = async (url, body) => {
    const r = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body || {}),
    });
    const answer = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(answer.error || "HTTP " + r.status);
    return answer;
  };
  const status = (text) => {
    const el = document.getElementById("passkey-status");
    if (el) el.textContent = text;
  };

  async function register(button) {
    const options = await post(button.dataset.start);
    const pk = options.publicKey;
    pk.challenge = b64uToBuf(pk.challenge);
    pk.user.id = b64uToBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => (c.id = b64uToBuf(c.id)));
    // A discoverable credential, so that sign-in needs no name typed.
    pk.authenticatorSelection = Object.assign({}, pk.authenticatorSelection, {
      residentKey: "required",
      requireResidentKey: true,
    });
    const cred = await navigator.credentials.create({ publicKey: pk });
    const done = await post(button.dataset.finish, {
      id: cred.id,
      rawId: bufToB64u(cred.rawId),
      type: cred.type,
      extensions: {},
      response: {
        attestationObject: bufToB64u(cred.response.attestationObject),
        clientDataJSON: bufToB64u(cred.response.clientDataJSON),
      },
    });
    window.location.assign(done.next);
  }

  async function signIn(button) {
    const options = await post(button.dataset.start);
    const pk = options.publicKey;
    pk.challenge = b64uToBuf(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => (c.id = b64uToBuf(c.id)));
    const cred = await navigator.credentials.get({ publicKey: pk });
    const r = cred.response;
    const done = await post(button.dataset.finish, {
      id: cred.id,
      rawId: bufToB64u(cred.rawId),
      type: cred.type,
      extensions: {},
      response: {
        authenticatorData: bufToB64u(r.authenticatorData),
        clientDataJSON: bufToB64u(r.clientDataJSON),
        signature: bufToB64u(r.signature),
        userHandle: r.userHandle ? bufToB64u(r.userHandle) : null,
      },
    });
    window.location.assign(done.next);
  }

  const wire = (id, ceremony) => {
    const button = document.getElementById(id);
    if (!button) return;
    button.addEventListener("click", () => {
      status("…");
      ceremony(button).catch((e) => status(e.message || String(e)));
    });
  };
  wire("passkey-register", register);
  wire("passkey-sign-in", signIn);
})();
