// Federation map: rates per 1,000 logements by commune (fill) and QPV (outline).
// Data come from <script type="application/json" id="federation-map-data">: aggregated
// figures and outlines only, never a fact. No outside host unless tileUrl is set.
(function () {
  "use strict";
  var node = document.getElementById("federation-map");
  var source = document.getElementById("federation-map-data");
  if (!node || !source || typeof L === "undefined") return;
  var config = JSON.parse(source.textContent);
  var breaks = config.breaks || [];
  // A sequential yellow-orange-red scale (ColorBrewer YlOrRd), light to dark.
  var palette = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026"];
  palette = palette.slice(palette.length - breaks.length - 1);

  function classOf(rate) {
    if (rate === null || rate === undefined) return -1;
    var i = 0;
    while (i < breaks.length && rate >= breaks[i]) i += 1;
    return i;
  }

  function colour(rate) {
    var c = classOf(rate);
    return c < 0 ? "#d5d9de" : palette[c];
  }

  function number(value, digits) {
    if (value === null || value === undefined) return "—";
    return value.toLocaleString("fr-FR", {
      minimumFractionDigits: digits || 0,
      maximumFractionDigits: digits || 0,
    });
  }

  function tooltip(kind, p) {
    // Built from text nodes: names come from files and must not become markup.
    var box = document.createElement("div");
    var title = document.createElement("strong");
    title.textContent = kind + " " + p.name;
    box.appendChild(title);
    [
      (p.facts ? number(p.facts) : "—") + " faits",
      number(p.logements) + " logements",
      p.rate === null
        ? "aucun fait publié (secret statistique)"
        : number(p.rate, 1) + " ‰ logements",
    ].forEach(function (text) {
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(text));
    });
    return box;
  }

  var map = L.map(node, {
    attributionControl: Boolean(config.tileUrl),
    scrollWheelZoom: false,
  });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "" }).addTo(map);
  } else {
    node.classList.add("no-tiles");
  }

  // Communes and QPV are drawn alike, by their rate; the QPV darker and opaque.
  function rateLayer(features, label, outline) {
    return L.geoJSON(features, {
      style: function (f) {
        return {
          color: outline.color,
          weight: outline.weight,
          fillColor: colour(f.properties.rate),
          fillOpacity: outline.fillOpacity,
        };
      },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(tooltip(label, f.properties), { sticky: true });
      },
    }).addTo(map);
  }

  var communes = rateLayer(config.communes, "Commune", {
    color: "#5a6470",
    weight: 1,
    fillOpacity: 0.85,
  });
  var qpv = rateLayer(config.qpv, "QPV", { color: "#12324f", weight: 1.5, fillOpacity: 1 });

  // Frame the places with published facts; all outlines if there are none.
  var bounds = L.latLngBounds([]);
  [communes, qpv].forEach(function (group) {
    group.eachLayer(function (layer) {
      if (layer.feature.properties.rate !== null) bounds.extend(layer.getBounds());
    });
  });
  if (!bounds.isValid()) {
    bounds = communes.getBounds();
    if (qpv.getBounds().isValid()) bounds.extend(qpv.getBounds());
  }
  if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [8, 8] });
  } else {
    map.setView([43.6, 1.44], 8);
  }

  L.control
    .layers(null, { "Communes": communes, "QPV": qpv }, {
      collapsed: window.matchMedia("(max-width: 719px)").matches,
    })
    .addTo(map);

  var legend = L.control({ position: "bottomright" });
  legend.onAdd = function () {
    var box = L.DomUtil.create("div", "map-legend");
    var title = document.createElement("strong");
    title.textContent = "Faits pour 1 000 logements";
    box.appendChild(title);
    var edges = [null].concat(breaks);
    palette.forEach(function (fill, i) {
      var row = document.createElement("div");
      var swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = fill; // CSSOM, allowed by a strict CSP
      row.appendChild(swatch);
      var low = edges[i], high = breaks[i];
      var text;
      if (low === null) {
        text = high === undefined ? "toutes valeurs" : "moins de " + number(high, 1);
      } else if (high === undefined) {
        text = number(low, 1) + " et plus";
      } else {
        text = number(low, 1) + " à " + number(high, 1);
      }
      row.appendChild(document.createTextNode(" " + text));
      box.appendChild(row);
    });
    var none = document.createElement("div");
    var grey = document.createElement("span");
    grey.className = "swatch";
    grey.style.background = colour(null);
    none.appendChild(grey);
    none.appendChild(document.createTextNode(" aucun fait publié"));
    box.appendChild(none);
    return box;
  };
  legend.addTo(map);
})();
