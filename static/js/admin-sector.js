// Sector picker: filter the résidence checkboxes as one types (accents ignored).
(function () {
  var box = document.querySelector(".sector-search");
  var input = document.getElementById("sector-filter");
  if (!box || !input) return;
  box.classList.remove("is-hidden");
  var fold = function (s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  };
  var items = Array.prototype.slice.call(document.querySelectorAll(".sector-item"));
  input.addEventListener("input", function () {
    var q = fold(input.value.trim());
    items.forEach(function (item) {
      var keep = !q || fold(item.textContent).indexOf(q) !== -1
        || item.querySelector("input").checked;
      item.classList.toggle("is-hidden", !keep);
    });
  });
})();
