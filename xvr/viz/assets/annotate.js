// xvr_annotate: the time from showing a sample to answering it, and one key per option.
"use strict";
const shown = performance.now();
const form = document.getElementById("choices");
let sent = false;
function send(button) {
  if (sent) return;
  sent = true;
  document.getElementById("ms").value = String(Math.round(performance.now() - shown));
  form.requestSubmit(button);
}
form.querySelectorAll("button").forEach((b) => b.addEventListener("click", (e) => { e.preventDefault(); send(b); }));
form.addEventListener("submit", () => { document.getElementById("ms").value ||= String(Math.round(performance.now() - shown)); });
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const b = form.querySelector(`button[data-key="${CSS.escape(e.key)}"]`);
  if (b) { e.preventDefault(); send(b); }
});
