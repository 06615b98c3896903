// Search for a résidence a select leaves out: the page lists only the first ones by
// name (and those chosen), so a select with data-search-url gets a search field that
// asks for the others and adds them to the list, under their bailleur.
(function () {
  var groupFor = function (select, name) {
    if (!name) return select;
    var groups = select.querySelectorAll("optgroup");
    for (var i = 0; i < groups.length; i++) {
      if (groups[i].label === name) return groups[i];
    }
    var group = document.createElement("optgroup");
    group.label = name;
    select.appendChild(group);
    return group;
  };
  var setUp = function (select) {
    var url = select.getAttribute("data-search-url");
    var box = document.createElement("div");
    box.className = "field residence-search";
    var label = document.createElement("label");
    label.htmlFor = select.id + "-search";
    label.textContent = "Chercher une autre résidence";
    var input = document.createElement("input");
    input.type = "search";
    input.id = select.id + "-search";
    input.autocomplete = "off";
    input.maxLength = 100;
    input.setAttribute("aria-controls", select.id);
    var status = document.createElement("p");
    status.className = "hint";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    box.appendChild(label);
    box.appendChild(input);
    box.appendChild(status);
    select.parentNode.insertBefore(box, select.nextSibling);

    var timer = null;
    var search = function () {
      var q = input.value.trim();
      if (q.length < 2) {
        status.textContent = "";
        return;
      }
      window.orfiSearchResidences(url, q)
        .then(function (data) {
          if (input.value.trim() !== q) return;
          var added = 0;
          data.items.forEach(function (residence) {
            var value = String(residence.id);
            if (select.querySelector('option[value="' + value + '"]')) return;
            // Built from DOM nodes: a résidence's label is text, never markup.
            var option = document.createElement("option");
            option.value = value;
            option.textContent = residence.label;
            // First of its bailleur: a long list would hide it at the end.
            var group = groupFor(select, residence.group);
            var first = group.querySelector("option:not([value=''])");
            group.insertBefore(option, first);
            added += 1;
          });
          if (data.items.length === 0) {
            status.textContent = "Aucune résidence ne correspond.";
          } else {
            status.textContent = data.items.length + " résidence(s) trouvée(s)"
              + (added ? ", ajoutée(s) à la liste" : ", déjà dans la liste")
              + (data.truncated ? " ; précisez la recherche pour les autres." : ".");
          }
          if (data.items.length === 1) {
            // The one match is what was looked for: choose it (kept with the others
            // already chosen in a multiple list).
            var only = select.querySelector(
              'option[value="' + String(data.items[0].id) + '"]'
            );
            only.selected = true;
            status.textContent = "« " + data.items[0].label + " » est choisie.";
          }
        })
        .catch(function () {
          status.textContent = "La recherche n'a pas abouti ; réessayez.";
        });
    };
    input.addEventListener("input", function () {
      if (timer) clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    // Enter searches at once rather than sending the whole form.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        if (timer) clearTimeout(timer);
        search();
      }
    });
  };
  Array.prototype.forEach.call(
    document.querySelectorAll("select[data-search-url]"), setUp
  );
})();
