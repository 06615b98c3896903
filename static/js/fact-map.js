/* The small map of the fact page (templates/reports/detail.html: the fact's position
   and its résidence's) and of the résidence dossier (templates/patrimoine/residence.html:
   the résidence alone, no "fact" in its settings), on the deployer's basemap
   (ORFI_TILE_URL; none by default, then no request leaves the app). Settings come from <script type="application/json">. */
(function () {
  "use strict";

  var node = document.getElementById("fact-map");
  var configNode = document.getElementById("fact-map-config");
  if (!node || !configNode || !window.L) {
    return;
  }
  var config = JSON.parse(configNode.textContent);
  var map = L.map(node, {
    attributionControl: Boolean(config.tileUrl),
    zoomSnap: 0.5,
    // On a phone one finger scrolls the page, not the map.
    dragging: !L.Browser.mobile,
    scrollWheelZoom: false,
  });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "", maxZoom: 19 }).addTo(map);
  } else {
    node.classList.add("no-tiles");
  }
  var residence = L.circleMarker(config.residence, {
    radius: 12, color: "#12324f", weight: 2, fillColor: "#ffffff", fillOpacity: 0.6,
  }).addTo(map);
  // An element, not a string: Leaflet would read a string as HTML.
  var label = document.createElement("span");
  label.textContent = config.residenceName;
  residence.bindTooltip(label, { direction: "top", offset: [0, -12] });
  if (config.fact) {
    var fact = L.circleMarker(config.fact, {
      radius: 7, color: "#1b1f24", weight: 2, fillColor: "#d7191c", fillOpacity: 1,
    }).addTo(map);
    var title = document.createElement("span");
    title.textContent = config.reference;
    fact.bindTooltip(title, { direction: "bottom", offset: [0, 8] });
    map.fitBounds(L.latLngBounds([config.fact, config.residence]).pad(0.5), { maxZoom: 17 });
  } else {
    // The résidence dossier: the résidence alone, at street level.
    map.setView(config.residence, 16);
  }
  node.setAttribute("data-ready", "true");
})();
