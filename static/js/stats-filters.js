/* Filters of the map and statistics pages: the statistics page opens them on wide
   screens; folded, their summary line still says which period is shown (and the map
   keeps the first screen). No inline script (CSP). */
(function () {
  "use strict";
  var panel = document.getElementById("filters-panel");
  if (
    panel &&
    panel.hasAttribute("data-open-wide") &&
    window.matchMedia &&
    window.matchMedia("(min-width: 900px)").matches
  ) {
    panel.open = true;
  }
})();
