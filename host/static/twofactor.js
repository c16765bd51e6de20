// Security keys in the browser (WebAuthn): register a key on the Security page (or while enrolling), and
// sign in with one as the second step. The host's options and the browser's answers travel as JSON with
// every binary field in base64url. A plain ES module: no build step, no inline script.

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

export function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
}

const withIds = (list) => (list || []).map((c) => ({ ...c, id: fromBase64url(c.id) }));

export function creationOptions(json) {
  return { ...json, challenge: fromBase64url(json.challenge),
           user: { ...json.user, id: fromBase64url(json.user.id) }, excludeCredentials: withIds(json.excludeCredentials) };
}

export function requestOptions(json) {
  return { ...json, challenge: fromBase64url(json.challenge), allowCredentials: withIds(json.allowCredentials) };
}

export function credentialJSON(credential) {
  const r = credential.response;
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
  }
  return { id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response,
           clientExtensionResults: credential.getClientExtensionResults(),
           authenticatorAttachment: credential.authenticatorAttachment || undefined };
}

async function postJSON(url, body) {
  const answer = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf() },
    body: JSON.stringify(body),
  });
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) {
    const error = new Error(data.error ? data.error.message : `The host answered ${answer.status}.`);
    error.redirect = data.redirect;
    throw error;
  }
  return data;
}

function say(box, text, isError = false) {
  const status = box.querySelector(".key-status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

function browserError(error) {
  if (error.name === "NotAllowedError") return "The security key was not used (cancelled or timed out).";
  if (error.name === "InvalidStateError") return "This security key is registered already.";
  return error.message;
}

async function register(box) {
  const name = box.querySelector(".key-name").value.trim();
  if (!name) return say(box, "Give the key a name first, so you can tell your keys apart.", true);
  say(box, "Touch your security key…");
  try {
    const options = await postJSON(box.dataset.optionsUrl, {});
    const credential = await navigator.credentials.create({ publicKey: creationOptions(options) });
    const done = await postJSON(box.dataset.answerUrl, { name, credential: credentialJSON(credential) });
    say(box, "The key was added.");
    location.assign(done.redirect);
  } catch (error) {
    say(box, browserError(error), true);
  }
}

async function signIn(box) {
  say(box, "Touch your security key…");
  try {
    const options = await postJSON(box.dataset.optionsUrl, {});
    const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
    const done = await postJSON(box.dataset.answerUrl, { credential: credentialJSON(credential) });
    say(box, "Signed in.");
    location.assign(done.redirect);
  } catch (error) {
    say(box, browserError(error), true);
    if (error.redirect) setTimeout(() => location.assign(error.redirect), 2500);
  }
}

for (const box of document.querySelectorAll("[data-twofactor]")) {
  if (!window.PublicKeyCredential) {
    say(box, "This browser cannot use security keys here (it needs https or localhost).", true);
    continue;
  }
  const button = box.querySelector(box.dataset.twofactor === "register" ? ".add-key" : ".use-key");
  button.addEventListener("click", () => (box.dataset.twofactor === "register" ? register(box) : signIn(box)));
}
