// Keygate dashboard: the pages' only script (served from /static, so the strict CSP holds). Every page works
// without it except the lab; it adds the provider picker's switch, the copy button and the lab's streaming.
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// BYOK: a plain key field, or the JSON field with the chosen provider's example, by the provider picked.
function setUpProviderPicker() {
  const picker = document.getElementById("byok-provider");
  if (!picker) return;
  const plain = document.getElementById("byok-secret-plain");
  const json = document.getElementById("byok-secret-json-field");
  const update = () => {
    const option = picker.options[picker.selectedIndex];
    const wantsJSON = option && option.dataset.json === "yes";
    plain.hidden = wantsJSON;
    json.hidden = !wantsJSON;
    for (const example of json.querySelectorAll(".example")) {
      example.hidden = example.dataset.provider !== picker.value;
    }
  };
  picker.addEventListener("change", update);
  update();
}

// Settings: copy the new API key.
function setUpCopyButtons() {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy);
      const status = document.getElementById("copy-status");
      const text = source ? source.textContent : "";
      let copied = false;
      try {
        await navigator.clipboard.writeText(text);
        copied = true;
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        copied = document.execCommand && document.execCommand("copy");
      }
      if (status) status.textContent = copied ? "Copied." : "Select the key and copy it by hand.";
    });
  }
}

// Lab: send through the gateway's chat path, stream the answer in, then show the receipt.
function setUpLab() {
  const form = document.getElementById("lab-form");
  if (!form) return;
  const slug = document.getElementById("lab").dataset.slug;
  const answer = document.getElementById("lab-answer");
  const status = document.getElementById("lab-status");
  const error = document.getElementById("lab-error");
  const send = document.getElementById("lab-send");
  const field = (id, text) => { document.getElementById(id).textContent = text; };

  const fail = (message) => {
    error.textContent = message;
    error.hidden = false;
    status.textContent = "failed";
    send.disabled = false;
  };

  const receipt = async (requestID) => {
    for (let attempt = 0; attempt < 50; attempt++) {
      const response = await fetch(`/${slug}/lab/receipt/${encodeURIComponent(requestID)}`, { credentials: "same-origin" });
      if (response.ok) {
        const body = await response.json();
        if (body.ready) return body;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return null;
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    answer.textContent = "";
    error.hidden = true;
    for (const id of ["lab-path", "lab-cost", "lab-tokens"]) field(id, "—");
    status.textContent = "sending…";
    send.disabled = true;
    const body = {
      model: document.getElementById("lab-model").value,
      messages: [{ role: "user", content: document.getElementById("lab-message").value }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 1024,
    };
    let response;
    try {
      response = await fetch(`/${slug}/lab/chat`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify(body),
      });
    } catch (_) {
      return fail("Keygate could not be reached. Check your connection and try again.");
    }
    const requestID = response.headers.get("x-request-id");
    if (!response.ok) {
      let message = `The request failed (HTTP ${response.status}).`;
      try {
        const problem = await response.json();
        if (problem.error && problem.error.message) message = problem.error.message;
      } catch (_) { /* not JSON */ }
      return fail(message);
    }
    status.textContent = "streaming…";
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffered = "";
    let streamError = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, end).trim();
        buffered = buffered.slice(end + 1);
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        try {
          const chunk = JSON.parse(data);
          if (chunk.error) streamError = chunk.error.message || "The provider stopped the answer.";
          const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
          if (delta && delta.content) answer.textContent += delta.content;
        } catch (_) { /* a partial or non-JSON line */ }
      }
    }
    status.textContent = "settling…";
    const result = requestID ? await receipt(requestID) : null;
    if (result) {
      field("lab-path", result.path);
      field("lab-cost", `${result.credits_charged} credits (at cost $${result.cost_usd})`);
      field("lab-tokens", `${result.input_tokens} in, ${result.output_tokens} out${result.estimated ? " (estimated)" : ""}`);
      field("lab-balance", result.available);
    }
    if (streamError) return fail(streamError);
    if (!result) return fail("The answer arrived, but its receipt is not recorded yet: see the billing page's ledger in a moment.");
    status.textContent = "done";
    send.disabled = false;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setUpProviderPicker();
  setUpCopyButtons();
  setUpLab();
});
