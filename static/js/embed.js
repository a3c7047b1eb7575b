// The GoHighLevel handshake of /embed/ (SPEC §5.4): ask the parent window for the encrypted
// user context, post it to /embed/auth, then open the dashboard (or the contact panel).
// No answer in time, or no parent at all: say so and offer "Open Kotally".
(function () {
  var root = document.getElementById("embed-handshake");
  if (!root) return;
  var answered = false;

  function show(state) {
    root.querySelectorAll("[data-state]").forEach(function (el) {
      el.hidden = el.dataset.state !== state;
    });
  }

  function signIn(payload) {
    fetch(root.dataset.authUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ payload: payload }),
    }).then(function (response) {
      if (response.ok) {
        window.location.replace(root.dataset.nextUrl);
        return;
      }
      // The refusal is a page of its own (Open Kotally and the reason): show it in place.
      return response.text().then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        document.title = page.title;
        document.body.replaceWith(page.body);
      });
    }).catch(function () {
      show("failed");
    });
  }

  if (window.parent === window) {
    show("no-answer");
    return;
  }
  window.addEventListener("message", function (event) {
    // Only our parent's answer counts; frame-ancestors already limits who that can be.
    var data = event.data;
    if (answered || event.source !== window.parent || !data) return;
    if (data.message !== "REQUEST_USER_DATA_RESPONSE" || typeof data.payload !== "string") return;
    answered = true;
    signIn(data.payload);
  });
  setTimeout(function () {
    if (!answered) show("no-answer");
  }, Number(root.dataset.timeoutMs));
  window.parent.postMessage({ message: "REQUEST_USER_DATA" }, "*");
})();
