// Trigger form: the token is sent as a bearer header and never stored or shown.
document.getElementById("trigger").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.target;
  const out = document.getElementById("trigger-result");
  const headers = { "Content-Type": "application/json" };
  const token = form.elements.token.value;
  if (token) headers.Authorization = "Bearer " + token;
  const body = JSON.stringify({ group: form.elements.group.value, dry_run: form.elements.dry_run.checked });
  try {
    const resp = await fetch("/api/runs", { method: "POST", headers, body });
    const data = await resp.json();
    out.textContent = resp.ok ? "started " + data.group + (data.dry_run ? " (dry run)" : "")
                              : "refused (" + resp.status + "): " + data.error;
    out.className = resp.ok ? "ok" : "critical";
  } catch (err) {
    out.textContent = "request failed: " + err;
    out.className = "critical";
  }
  form.elements.token.value = "";
});
