// Custody audit log: "Check proof" verifies, in this browser, that an event
// shown on the page is a leaf of the ledger under the latest signed
// checkpoint (docs/ledger.md). It fetches from the API the entry (its exact
// leaf bytes), the verifier key, the signed checkpoint and the inclusion
// proof, then checks with WebCrypto alone: the key's ID, the checkpoint's
// Ed25519 signature and origin, the leaf's decoding against the row shown,
// the leaf hash SHA-256(0x00 || leaf) and the RFC 9162 walk from it to the
// checkpoint's root with node hashes SHA-256(0x01 || left || right). Nothing
// the server says about the result is trusted: the proof's own `root` field
// is ignored. On the checkpoints page, "Check against" verifies two signed
// checkpoints and the RFC 9162 consistency proof between them.
"use strict";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

class ProofError extends Error {}

function fail(message) {
  throw new ProofError(message);
}

function fromBase64(text) {
  let bin;
  try {
    bin = atob(text);
  } catch (_) {
    fail("the server sent malformed base64");
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) {
    out[i] = bin.charCodeAt(i);
  }
  return out;
}

function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function equal(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const leafHash = (leaf) => sha256(concat(Uint8Array.of(0), leaf));
const nodeHash = (l, r) => sha256(concat(Uint8Array.of(1), l, r));

async function get(url, what) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (!response.ok) {
    let message = "HTTP " + response.status;
    try {
      message = (await response.json()).error.message;
    } catch (_) {
      // keep the status
    }
    fail("could not fetch the " + what + ": " + message);
  }
  return response;
}

// `<name>+<8 hex key ID>+<base64(0x01 || 32-byte Ed25519 public key)>`.
async function parseVerifierKey(text) {
  const parts = text.trim().split("+");
  if (parts.length < 3) {
    fail("the verifier key is malformed");
  }
  const name = parts[0];
  const id = parts[1];
  const raw = fromBase64(parts.slice(2).join("+"));
  if (!/^[0-9a-f]{8}$/.test(id) || raw.length !== 33 || raw[0] !== 1) {
    fail("the verifier key is not an Ed25519 signed-note key");
  }
  const publicKey = raw.slice(1);
  // key ID = first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key)
  const digest = await sha256(concat(enc.encode(name), Uint8Array.of(10, 1), publicKey));
  if (toHex(digest.slice(0, 4)) !== id) {
    fail("the verifier key's ID does not match its name and key");
  }
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return { name, id, key, text: name + "+" + id };
}

// A signed note: text, a blank line, signature lines `— <name> <base64(id || sig)>`.
async function verifyCheckpoint(note, verifier) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0 || !note.endsWith("\n")) {
    fail("the checkpoint is not a signed note");
  }
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split("\n");
  let signature = null;
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) {
      fail("the checkpoint has a malformed signature line");
    }
    const bytes = fromBase64(m[2]);
    if (m[1] === verifier.name && bytes.length === 68 && toHex(bytes.slice(0, 4)) === verifier.id) {
      if (signature) {
        fail("the checkpoint carries two signatures by the key");
      }
      signature = bytes.slice(4);
    }
  }
  if (!signature) {
    fail("the checkpoint is not signed by the key " + verifier.text);
  }
  const ok = await crypto.subtle.verify({ name: "Ed25519" }, verifier.key, signature, enc.encode(text));
  if (!ok) {
    fail("the checkpoint's signature does not verify with the key " + verifier.text);
  }
  const body = text.slice(0, -1).split("\n");
  if (body.length < 3 || !/^(0|[1-9][0-9]*)$/.test(body[1])) {
    fail("the checkpoint text is malformed");
  }
  if (body[0] !== verifier.name) {
    fail("the checkpoint's origin is not the key's name");
  }
  const root = fromBase64(body[2]);
  if (root.length !== 32) {
    fail("the checkpoint's root is not 32 bytes");
  }
  return { size: BigInt(body[1]), root };
}

// Leaf encoding version 1 (docs/ledger.md §7): version, time_ms (i64 BE),
// eleven fields of presence byte, u32 BE length and UTF-8 text.
const FIELDS = ["actor_user", "actor_party", "action", "target", "outcome", "reason",
  "source_addr", "user_agent", "request_id", "mark_id", "detail_json"];

function decodeLeaf(leaf) {
  const view = new DataView(leaf.buffer, leaf.byteOffset, leaf.byteLength);
  if (leaf.length < 9 || leaf[0] !== 1) {
    fail("the leaf is not version 1");
  }
  const event = { time_ms: view.getBigInt64(1) };
  let at = 9;
  for (const field of FIELDS) {
    if (at >= leaf.length) {
      fail("the leaf is truncated");
    }
    const present = leaf[at++];
    if (present === 0) {
      event[field] = null;
      continue;
    }
    if (present !== 1 || at + 4 > leaf.length) {
      fail("the leaf is malformed");
    }
    const len = view.getUint32(at);
    at += 4;
    if (at + len > leaf.length) {
      fail("the leaf is truncated");
    }
    try {
      event[field] = dec.decode(leaf.subarray(at, at + len));
    } catch (_) {
      fail("the leaf holds text that is not UTF-8");
    }
    at += len;
  }
  if (at !== leaf.length) {
    fail("the leaf has bytes after its last field");
  }
  return event;
}

// RFC 9162 §2.1.3.2.
async function rootFromProof(index, size, hash, proof) {
  if (index >= size) {
    fail("the index is not below the checkpoint's size");
  }
  let fn = index;
  let sn = size - 1n;
  let r = hash;
  for (const p of proof) {
    if (p.length !== 32) {
      fail("a proof hash is not 32 bytes");
    }
    if (sn === 0n) {
      fail("the inclusion proof is too long for the checkpoint's size");
    }
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) {
    fail("the inclusion proof is too short for the checkpoint's size");
  }
  return r;
}

async function checkProof(row, index) {
  const verifier = await parseVerifierKey(await (await get("/api/v1/ledger/verifier-key", "verifier key")).text());
  const checkpoint = await verifyCheckpoint(await (await get("/api/v1/ledger/checkpoint", "checkpoint")).text(), verifier);

  const from = index.toString();
  const to = (index + 1n).toString();
  const lines = (await (await get("/api/v1/ledger/entries?from=" + from + "&to=" + to, "ledger entry")).text())
    .split("\n").filter((l) => l !== "");
  if (lines.length !== 1) {
    fail("the ledger has no entry " + index);
  }
  const entry = JSON.parse(lines[0]);
  if (String(entry.index) !== from) {
    fail("the server sent another entry");
  }
  const leaf = fromBase64(entry.leaf);
  const event = decodeLeaf(leaf);
  const shown = row.dataset;
  if (event.time_ms.toString() !== shown.timeMs || event.action !== shown.action ||
      event.target !== shown.target || event.outcome !== shown.outcome) {
    fail("the ledger entry does not record the event shown");
  }
  let hash;
  if (entry.redacted === true) {
    // A redacted leaf is proven by the hash of its original bytes only.
    if (!/^[0-9a-f]{64}$/.test(entry.leaf_hash)) {
      fail("the redacted entry carries no leaf hash");
    }
    hash = Uint8Array.from(entry.leaf_hash.match(/../g), (h) => parseInt(h, 16));
  } else {
    hash = await leafHash(leaf);
  }

  const proofUrl = "/api/v1/ledger/proof/inclusion?index=" + from + "&size=" + checkpoint.size.toString();
  const proof = await (await get(proofUrl, "inclusion proof")).json();
  if (!Array.isArray(proof.hashes)) {
    fail("the inclusion proof is malformed");
  }
  const root = await rootFromProof(index, checkpoint.size, hash, proof.hashes.map(fromBase64));
  if (!equal(root, checkpoint.root)) {
    fail("the inclusion proof does not lead to the checkpoint's root");
  }
  const redacted = entry.redacted === true ? " (a redacted entry: its original bytes' hash)" : "";
  return "Verified: entry " + from + redacted + " is in the ledger, verified against checkpoint of size " +
    checkpoint.size.toString() + " signed by key " + verifier.text + ".";
}

// RFC 9162 §2.1.4.2: the tree of `second` leaves extends the one of `first`.
async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (first > second) {
    fail("the older checkpoint is the larger");
  }
  if (first === second) {
    if (proof.length !== 0 || !equal(firstRoot, secondRoot)) {
      fail("two checkpoints of one size differ");
    }
    return;
  }
  if (first === 0n) {
    // Every log extends the empty one.
    if (proof.length !== 0) {
      fail("a consistency proof from the empty log must be empty");
    }
    return;
  }
  if (proof.length === 0) {
    fail("the consistency proof is empty");
  }
  for (const p of proof) {
    if (p.length !== 32) {
      fail("a proof hash is not 32 bytes");
    }
  }
  const path = (first & (first - 1n)) === 0n ? [firstRoot, ...proof] : proof.slice();
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) {
      fail("the consistency proof is too long");
    }
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n || !equal(fr, firstRoot) || !equal(sr, secondRoot)) {
    fail("the consistency proof does not lead to both checkpoints' roots");
  }
}

async function checkConsistency(first, second) {
  const verifier = await parseVerifierKey(await (await get("/api/v1/ledger/verifier-key", "verifier key")).text());
  const stored = await (await get("/api/v1/ledger/checkpoints?from_size=" + first.toString(), "checkpoints")).json();
  const note = (size) => {
    const found = (stored.items || []).find((c) => String(c.size) === size.toString());
    if (!found) {
      fail("the ledger has no checkpoint of size " + size);
    }
    return found.note;
  };
  const older = await verifyCheckpoint(note(first), verifier);
  const newer = await verifyCheckpoint(note(second), verifier);
  if (older.size !== first || newer.size !== second) {
    fail("a checkpoint's size is not the one asked for");
  }
  const url = "/api/v1/ledger/proof/consistency?old=" + first.toString() + "&new=" + second.toString();
  const proof = await (await get(url, "consistency proof")).json();
  if (!Array.isArray(proof.hashes)) {
    fail("the consistency proof is malformed");
  }
  await verifyConsistency(first, second, older.root, newer.root, proof.hashes.map(fromBase64));
  return "Consistent: the log of size " + second.toString() + " extends the log of size " + first.toString() +
    ", both checkpoints signed by key " + verifier.text + ".";
}

// Runs `check` on a click of `button`, showing its outcome in `result`.
function onClick(button, result, check) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.classList.remove("verified", "failed");
    result.textContent = "Checking…";
    try {
      result.textContent = await check();
      result.classList.add("verified");
    } catch (e) {
      const why = e instanceof ProofError ? e.message : "the check could not run (" + e + ")";
      result.textContent = "Not verified: " + why + ".";
      result.classList.add("failed");
    } finally {
      button.disabled = false;
    }
  });
}

function setup(button) {
  const index = BigInt(button.dataset.index);
  const result = document.getElementById("proof-result-" + button.dataset.index);
  const row = button.closest("tr");
  onClick(button, result, () => checkProof(row, index));
}

function setupConsistency(button) {
  const result = document.getElementById("consistency-result-" + button.dataset.new);
  onClick(button, result, () => checkConsistency(BigInt(button.dataset.old), BigInt(button.dataset.new)));
}

document.querySelectorAll("button.check-proof").forEach(setup);
document.querySelectorAll("button.check-consistency").forEach(setupConsistency);
