// Copy-to-clipboard for buttons with data-copy="<id of the element holding the text>".
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy]");
  if (!button) return;
  var text = document.getElementById(button.dataset.copy).textContent.trim();
  navigator.clipboard.writeText(text).then(function () {
    button.textContent = "Copied";
  }, function () {
    button.textContent = "Select and copy by hand";
  });
});

// Phones: the main navigation collapses behind the Menu button (without JavaScript it stays
// open: the .js class is only set here).
document.documentElement.classList.add("js");
document.addEventListener("click", function (event) {
  var toggle = event.target.closest(".menu-toggle");
  if (!toggle) return;
  var nav = document.getElementById(toggle.getAttribute("aria-controls"));
  var open = nav.classList.toggle("open");
  toggle.setAttribute("aria-expanded", open ? "true" : "false");
});

// After a failed submit, focus the first field in error (or the form's error notice), so
// keyboard and screen-reader users land where the problem is.
document.addEventListener("DOMContentLoaded", function () {
  var first = document.querySelector("main [aria-invalid=true], main .notice.error[role=alert]");
  if (first) {
    var details = first.closest("details");
    if (details) details.open = true;
    first.focus();
  }
});

// Product config form: show only the fields of the chosen kind (data-kind) and those the
// chosen location offers (data-needs-ghl, data-needs-stripe on the field; data-ghl and
// data-stripe on the location's option).
function showConfigFields(form) {
  var kind = form.querySelector("select[name=kind]");
  var location = form.querySelector("select[name=location]");
  if (!kind || !location) return;
  var option = location.options[location.selectedIndex] || {dataset: {}};
  form.querySelectorAll("[data-kind], [data-needs-ghl], [data-needs-stripe]").forEach(function (el) {
    var shown = (!el.dataset.kind || el.dataset.kind === kind.value) &&
      (!el.dataset.needsGhl || option.dataset.ghl === "1") &&
      (!el.dataset.needsStripe || option.dataset.stripe === "1");
    el.closest("div").hidden = !shown;
  });
}
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form").forEach(showConfigFields);
});
document.addEventListener("change", function (event) {
  if (event.target.matches("select[name=kind], select[name=location]")) {
    showConfigFields(event.target.form);
  }
});
