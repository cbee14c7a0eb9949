// bearerguard inspect: sends the form to this process's own API and
// renders the answer. The token goes only in the body of a same-origin
// POST; nothing is written to storage, cookies or the URL, and every
// value is inserted as text, never as HTML.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="bearerguard-csrf"]').content;
  const form = document.getElementById("inspect-form");
  const statusEl = document.getElementById("status");
  const report = document.getElementById("report");
  const button = document.getElementById("submit");
  const reveal = document.getElementById("reveal");

  // Verdicts in words and symbols, so that none depends on colour.
  const verdicts = {
    pass: "\u2713 PASS",
    fail: "\u2717 FAIL",
    skip: "\u2013 NOT CHECKED",
    unknown: "? UNKNOWN",
  };
  const decisions = {
    valid: "\u2713 VALID",
    invalid: "\u2717 INVALID",
    undecided: "? UNDECIDED",
  };

  function text(tag, value, className) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (className) {
      el.className = className;
    }
    return el;
  }

  function clear(el) {
    while (el.firstChild) {
      el.removeChild(el.firstChild);
    }
  }

  function fillTable(id, rows, cells) {
    const body = document.querySelector("#" + id + " tbody");
    clear(body);
    for (const r of rows) {
      const tr = document.createElement("tr");
      cells(r).forEach((c, i) => {
        const cell = text(i === 0 ? "th" : "td", c.value, c.className);
        if (i === 0) {
          cell.scope = "row";
        }
        tr.appendChild(cell);
      });
      body.appendChild(tr);
    }
  }

  function fillList(dl, pairs) {
    clear(dl);
    for (const [k, v] of pairs) {
      if (v === undefined || v === null || v === "") {
        continue;
      }
      dl.appendChild(text("dt", k));
      dl.appendChild(text("dd", String(v)));
    }
  }

  function show(id, on) {
    document.getElementById(id).hidden = !on;
  }

  function render(rep) {
    const d = document.getElementById("decision");
    d.textContent = (decisions[rep.decision] || rep.decision) + ": " + rep.summary;
    d.className = "decision " + rep.decision;
    d.dataset.decision = rep.decision;

    const lines = [rep.answer.status ? rep.answer.status + " " + rep.answer.status_text : rep.answer.status_text];
    for (const h of rep.answer.headers || []) {
      lines.push(h.name + ": " + h.value);
    }
    document.getElementById("answer").textContent = lines.join("\n");

    fillTable("checks", rep.checks || [], (c) => [
      { value: c.name },
      { value: verdicts[c.verdict] || c.verdict, className: "verdict " + c.verdict },
      { value: c.reason },
    ]);
    document.querySelectorAll("#checks tbody tr").forEach((tr, i) => {
      tr.dataset.check = rep.checks[i].id;
      tr.dataset.verdict = rep.checks[i].verdict;
    });

    document.getElementById("clock").textContent =
      "This machine's clock: " + rep.clock.now + ". " + rep.clock.skew;

    show("key-section", !!rep.key);
    if (rep.key) {
      fillList(document.getElementById("key"), [
        ["kid", JSON.stringify(rep.key.kid)],
        ["alg", rep.key.alg],
        ["Matched", rep.key.matched ? "yes: " + rep.key.note : "no: " + rep.key.note],
        ["Key type", rep.key.kty],
        ["Thumbprint (RFC 7638, SHA-256)", rep.key.thumbprint],
        ["Key set", rep.key.jwks_url ? rep.key.jwks_url + " (" + rep.key.jwks_keys + (rep.key.jwks_keys === 1 ? " usable key)" : " usable keys)") : ""],
        ["Key set fetched", rep.key.fetched],
      ]);
    }

    show("intro-section", !!rep.introspection);
    if (rep.introspection) {
      let s = rep.introspection.status || "";
      if (rep.introspection.redacted > 0) {
        s += " (" + rep.introspection.redacted + " personal member(s) redacted; tick \u201cShow personal data\u201d to see them)";
      }
      document.getElementById("intro-status").textContent = s;
      fillTable("intro", rep.introspection.answer || [], (c) => [
        { value: c.name },
        { value: c.value, className: c.redacted ? "redacted" : "" },
        { value: c.when || "" },
      ]);
    }

    show("header-section", !!rep.header);
    if (rep.header) {
      fillTable("header", rep.header, (c) => [{ value: c.name }, { value: c.value }]);
    }
    show("claims-section", !!rep.claims);
    if (rep.claims) {
      const title = rep.token.verified ? "Claims (verified)" : "Claims (unverified: the signature was not verified)";
      document.getElementById("claims-title").textContent = title;
      fillTable("claims", rep.claims, (c) => [
        { value: c.name },
        { value: c.value, className: c.redacted ? "redacted" : "" },
        { value: c.when || "" },
      ]);
    }

    fillList(document.getElementById("token-facts"), [
      ["Format", rep.token.format === "jwt" ? "JWT" : "opaque"],
      ["Size", rep.token.size + " bytes"],
      ["SHA-256 fingerprint", rep.token.fingerprint + "\u2026 (the token itself is not shown)"],
      ["Presented", rep.token.presented],
      ["Took", rep.took + " (including key fetches and introspection)"],
    ]);

    const out = document.getElementById("outgoing");
    clear(out);
    const calls = rep.outgoing || [];
    if (calls.length === 0) {
      out.appendChild(text("li", "none"));
    }
    for (const o of calls) {
      out.appendChild(text("li", o.method + " " + o.url + " \u2192 " + o.result));
    }
    report.hidden = false;
  }

  async function inspect(event) {
    event.preventDefault();
    const body = {
      token: form.token.value,
      dpop_proof: form.dpop_proof.value,
      method: form.method.value,
      url: form.url.value,
      scopes: form.scopes.value,
      audience: form.audience.value,
      leeway: form.leeway.value,
      dpop: form.dpop.value,
      rfc9068: form.rfc9068.checked,
      reveal_personal: reveal.checked,
    };
    button.disabled = true;
    statusEl.textContent = "Inspecting\u2026";
    try {
      const resp = await fetch("/api/inspect", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Bearerguard-CSRF": csrf },
        body: JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
        redirect: "error",
      });
      const rep = await resp.json();
      if (!resp.ok) {
        report.hidden = true;
        const problems = rep.problems || [rep.error || "error " + resp.status];
        statusEl.textContent = "Not inspected: " + problems.join("; ") + ".";
        return;
      }
      render(rep);
      statusEl.textContent = "Inspected: " + (decisions[rep.decision] || rep.decision) + ".";
      document.getElementById("result").focus();
    } catch (e) {
      report.hidden = true;
      statusEl.textContent = "Not inspected: the bearerguard process did not answer (" + e.message + ").";
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", inspect);
  // Showing or hiding personal data asks again, so that the page holds
  // personal data only once it was asked for.
  reveal.addEventListener("change", () => {
    if (!report.hidden && form.token.value.trim() !== "") {
      form.requestSubmit();
    }
  });
})();
