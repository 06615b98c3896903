// Résidence checkbox lists (a gardien's sector, a meeting's résidences): filter the
// checkboxes as one types (accents ignored). When the page lists only part of the
// patrimoine (data-search-url), the résidences matching the text are also asked for
// and added, unchecked, to the list. Each .sector-search box names its list in
// data-list (default "sector"); the list names its checkboxes in data-name.
document.querySelectorAll(".sector-search").forEach(function (box) {
  var list = document.getElementById(box.getAttribute("data-list") || "sector");
  var input = box.querySelector("input[type=search]");
  if (!input || !list) return;
  box.classList.remove("is-hidden");
  var status = box.querySelector("[role=status]");
  var searchUrl = list.getAttribute("data-search-url");
  var fieldName = list.getAttribute("data-name") || "sector";
  var fold = function (s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  };
  var items = function () {
    return Array.prototype.slice.call(list.querySelectorAll(".sector-item"));
  };
  var filter = function () {
    var q = fold(input.value.trim());
    items().forEach(function (item) {
      var keep = !q || fold(item.textContent).indexOf(q) !== -1
        || item.querySelector("input").checked;
      item.classList.toggle("is-hidden", !keep);
    });
  };
  var known = function (id) {
    return !!list.querySelector('input[value="' + id + '"]');
  };
  var add = function (residence) {
    // Built from DOM nodes: a résidence's label is text, never markup.
    var label = document.createElement("label");
    label.className = "sector-item";
    var box = document.createElement("input");
    box.type = "checkbox";
    box.name = fieldName;
    box.value = String(residence.id);
    var span = document.createElement("span");
    span.textContent = residence.label;
    label.appendChild(box);
    label.appendChild(document.createTextNode(" "));
    label.appendChild(span);
    list.appendChild(label);
  };
  var timer = null;
  var asked = "";
  var search = function () {
    var q = input.value.trim();
    if (!searchUrl || q.length < 2 || q === asked) return;
    asked = q;
    window.orfiSearchResidences(searchUrl, q)
      .then(function (data) {
        if (input.value.trim() !== q) return;
        data.items.forEach(function (residence) {
          if (!known(residence.id)) add(residence);
        });
        filter();
        if (status) {
          status.textContent = data.items.length === 0
            ? "Aucune résidence ne correspond."
            : data.truncated
              ? "Premières correspondances seulement : précisez la recherche."
              : "";
        }
      })
      .catch(function () {
        asked = "";
        if (status) status.textContent = "La recherche n'a pas abouti ; réessayez.";
      });
  };
  // Enter searches at once rather than sending the whole form.
  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") return;
    event.preventDefault();
    if (timer) clearTimeout(timer);
    search();
  });
  input.addEventListener("input", function () {
    filter();
    if (timer) clearTimeout(timer);
    timer = setTimeout(search, 250);
  });
});
