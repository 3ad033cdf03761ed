// Custody web UI: uploads with a progress bar. The form works without this
// script (a multipart POST); with it, the file is PUT to the API as a stream
// and the bar shows how much has been sent.
"use strict";

const DONE_KEY = "custody.upload.done";

function csrfToken() {
  const pair = document.cookie
    .split(";")
    .map((c) => c.trim().split("="))
    .find(([name]) => name === "custody_csrf");
  return pair ? decodeURIComponent(pair.slice(1).join("=")) : "";
}

function encodePath(path) {
  return path.split("/").map(encodeURIComponent).join("/");
}

function setupUpload(form) {
  const input = form.querySelector("input[type=file]");
  const button = form.querySelector("button[type=submit]");
  const bar = form.querySelector("progress");
  const status = form.querySelector("[role=status]");
  form.addEventListener("submit", (event) => {
    const file = input.files && input.files[0];
    if (!file) {
      return;
    }
    event.preventDefault();
    const path = (form.dataset.prefix || "") + file.name;
    const url = "/api/v1/rooms/" + encodeURIComponent(form.dataset.room) +
      "/files/" + encodePath(path);
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    xhr.setRequestHeader("x-csrf-token", csrfToken());
    xhr.setRequestHeader("content-type", "application/octet-stream");
    const why = document.getElementById("justification");
    if (why && why.value.trim() !== "") {
      xhr.setRequestHeader("custody-justification", why.value.trim());
    }
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    status.textContent = "Uploading " + file.name + "…";
    xhr.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable) {
        bar.value = Math.round((100 * e.loaded) / e.total);
      }
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 202) {
        // Stored, but held by the room's data-loss policy: not listed yet.
        bar.value = 100;
        let signature = null;
        try {
          signature = JSON.parse(xhr.responseText).signature;
        } catch (_) {
          signature = null;
        }
        status.textContent = signature
          ? file.name + " is held in quarantine: the antivirus found malware in it (" + signature + "). The security officers were told; nobody can open it."
          : file.name + " is held for review by a security officer before anyone can use it.";
        button.disabled = false;
        return;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 100;
        status.textContent = "Uploaded " + file.name + ".";
        // Shown again after the reload that refreshes the listing.
        sessionStorage.setItem(DONE_KEY, JSON.stringify({ name: file.name, percent: bar.value }));
        window.location.reload();
        return;
      }
      let message = "the upload failed (HTTP " + xhr.status + ")";
      try {
        message = JSON.parse(xhr.responseText).error.message;
      } catch (_) {
        // keep the generic message
      }
      status.textContent = "Upload failed: " + message;
      status.classList.add("error");
      button.disabled = false;
    });
    xhr.addEventListener("error", () => {
      status.textContent = "Upload failed: the connection was lost";
      status.classList.add("error");
      button.disabled = false;
    });
    xhr.send(file);
  });
}

function showFinished(form) {
  const done = sessionStorage.getItem(DONE_KEY);
  if (!done) {
    return;
  }
  sessionStorage.removeItem(DONE_KEY);
  try {
    const { name, percent } = JSON.parse(done);
    const bar = form.querySelector("progress");
    bar.hidden = false;
    bar.value = percent;
    form.querySelector("[role=status]").textContent = "Uploaded " + name + ".";
  } catch (_) {
    // a stale or foreign value: nothing to show
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("upload-form");
  if (form) {
    setupUpload(form);
    showFinished(form);
  }
});
