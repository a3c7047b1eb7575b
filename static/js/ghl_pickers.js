// GHL pickers of the Product Config form (templates/integrations_ghl/_pickers.html): a file,
// not an inline script, so the Content-Security-Policy can keep script-src 'self'.
(function () {
  var box = document.getElementById("ghl-pickers");
  var form = box.closest("form") || document;
  var field = function (name) { return form.querySelector("[name='" + name + "']"); };
  var product = field("ghl_product_id"), price = field("ghl_price_id");
  var calendars = field("calendar_ids"), location = field("location");
  var status = document.getElementById("ghl-pickers-status");
  var calendarBox = document.getElementById("ghl-calendars");
  var data = {products: [], calendars: []};
  if (product) product.setAttribute("list", "ghl-products");
  if (price) price.setAttribute("list", "ghl-prices");

  function fill(listId, items) {
    var list = document.getElementById(listId);
    list.replaceChildren.apply(list, items.map(function (item) {
      var option = document.createElement("option");
      option.value = item.id;
      option.label = item.label;
      return option;
    }));
  }
  function fillPrices() {
    var chosen = data.products.filter(function (p) { return !product || p.id === product.value; });
    var prices = [];
    chosen.forEach(function (p) {
      p.prices.forEach(function (pr) {
        prices.push({id: pr.id, label: p.name + " — " + (pr.name || "") + " " + (pr.amount == null ? "" : pr.amount + " " + pr.currency)});
      });
    });
    fill("ghl-prices", prices);
  }
  function addCalendar(id) {
    var ids = calendars.value.split(/[\s,]+/).filter(Boolean);
    if (ids.indexOf(id) === -1) ids.push(id);
    calendars.value = ids.join(", ");
  }
  function showCalendars() {
    calendarBox.replaceChildren();
    if (!calendars || !data.calendars.length) return;
    var label = document.createElement("span");
    label.textContent = "GHL calendars: ";
    calendarBox.appendChild(label);
    data.calendars.forEach(function (c) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "small secondary";
      button.textContent = "+ " + (c.name || c.id);
      button.title = c.id;
      button.addEventListener("click", function () { addCalendar(c.id); });
      calendarBox.appendChild(button);
    });
  }
  function load() {
    data = {products: [], calendars: []};
    fill("ghl-products", []); fill("ghl-prices", []); showCalendars();
    if (!location || !location.value) { box.hidden = true; return; }
    fetch(box.dataset.url.replace("__LOCATION__", encodeURIComponent(location.value)),
          {headers: {Accept: "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.status === 404 ? null : r.json(); })
      .then(function (body) {
        if (!body) { box.hidden = true; return; }  // not a GHL location: type ids by hand
        box.hidden = false;
        if (!body.ok) { status.textContent = body.message; return; }
        data = body;
        status.textContent = body.products.length + " GHL products and " + body.calendars.length + " calendars available as suggestions.";
        fill("ghl-products", body.products.map(function (p) { return {id: p.id, label: p.name}; }));
        fillPrices(); showCalendars();
      })
      .catch(function () { box.hidden = false; status.textContent = "Could not load GoHighLevel products; type the ids."; });
  }
  if (product) product.addEventListener("change", fillPrices);
  if (location) location.addEventListener("change", load);
  load();
})();
