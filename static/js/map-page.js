/* The hotspot map (templates/maps/index.html).

   folium writes the map and its empty layers in /carte/carte.js and registers them in
   window.orfiMaps; this script fills them from /carte/donnees.json for the current zoom
   and view, and refetches when the view changes. H3 cells arrive as their ids and are
   drawn with h3-js; every text shown in a popup is set with textContent (escaped).
   No inline script: the page passes its settings in <script type="application/json">. */
(function () {
  "use strict";

  var HEX_COLOURS = ["#fff3b0", "#fdd57a", "#f9a44a", "#e4682a", "#a93a12"];
  var RATE_COLOURS = ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"];
  var HOT = "#d7191c";
  // Popups pan clear of the zoom and layer buttons.
  var POPUP_OPTIONS = {
    maxWidth: Math.max(200, Math.min(300, window.innerWidth - 110)),
    autoPanPaddingTopLeft: [10, 56],
    autoPanPaddingBottomRight: [10, 10],
  };
  var COLD = "#2c7bb6";
  var DATA_LAYERS = ["hex", "gi", "heat", "residences", "facts"];
  var NUMBER = new Intl.NumberFormat("fr-FR");
  var DECIMAL = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 1 });

  var configElement = document.getElementById("map-config");
  if (!configElement) {
    return;
  }
  var config = JSON.parse(configElement.textContent);
  var statusLine = document.getElementById("map-status");

  function setStatus(text, isError) {
    if (statusLine) {
      statusLine.textContent = text;
      statusLine.classList.toggle("error", Boolean(isError));
    }
  }

  // "1 fait", "3 faits", "2 points chauds": every word of ``words`` takes the plural.
  function plural(n, words) {
    var text = n > 1 ? words.split(" ").map(function (w) { return w + "s"; }).join(" ") : words;
    return NUMBER.format(n) + "\u00a0" + text;
  }

  /* ------------------------------------------------------------ DOM helpers */

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function line(parent, label, value) {
    var row = el("p", "popup-line");
    if (label) {
      row.appendChild(el("span", "popup-label", label + "\u00a0: "));
    }
    row.appendChild(document.createTextNode(String(value)));
    parent.appendChild(row);
    return row;
  }

  function link(parent, href, text) {
    var a = el("a", "popup-link", text);
    a.href = href;
    parent.appendChild(a);
    return a;
  }

  function withArgs(url, extra) {
    var parsed = new URL(url, window.location.href);
    Object.keys(extra).forEach(function (key) {
      parsed.searchParams.set(key, extra[key]);
    });
    return parsed.pathname + parsed.search;
  }

  /* ------------------------------------------------------------------- start */

  /* One renderer per pane, and only the lowest one a canvas. A canvas takes every
     click on its whole surface (it finds the feature hit itself, among the features
     it drew), so a canvas over another one would hide the lower one's features from
     the mouse. SVG leaves the clicks it does not draw under to the panes below
     (Leaflet sets pointer-events="none" on the <svg> and listens on each path): the
     many hexagons stay on a canvas, the few hot spots and the résidences are SVG. */
  var renderers = {};
  var currentMap = null;

  function start(entry) {
    var map = entry.map;
    var layers = entry.layers;
    entry.fillHexLegend = fillHexLegend; // for the browser tests
    if (map.attributionControl) {
      // Credit Leaflet as text: a link to its site is of no use on a closed network.
      map.attributionControl.setPrefix("Leaflet");
    }
    var panes = { hex: 410, gi: 420, residences: 430 };
    Object.keys(panes).forEach(function (name) {
      map.createPane("orfi-" + name).style.zIndex = String(panes[name]);
    });
    renderers.hex = L.canvas({ pane: "orfi-hex" });
    renderers.gi = L.svg({ pane: "orfi-gi" });
    renderers.residences = L.svg({ pane: "orfi-residences" });
    currentMap = map;
    map.on("moveend", function () {
      updateTabStops(layers);
    });
    if (!config.tiles) {
      map.getContainer().classList.add("no-tiles");
    }
    installLegend(map, layers);
    // Few enough résidences: the page carries them, drawn once, never refetched.
    var embedded = Boolean(config.residences);
    if (embedded) {
      drawResidences(layers.residences, config.residences);
      installPlaceSearch(map, layers.residences, config.residences.rows);
    }
    if (config.focus) {
      map.fitBounds(config.focus, { maxZoom: 16 });
    }

    var timer = null;
    var controller = null;

    // The hot résidences depend on the filters only, not on the view: the page
    // carries them (or the first data request brings them), never refetched.
    var hotLoaded = Boolean(config.hotspots);
    if (hotLoaded) {
      draw(map, layers, { gi: config.hotspots });
    }

    function activeLayers() {
      return DATA_LAYERS.filter(function (name) {
        return layers[name] && map.hasLayer(layers[name]) && !(embedded && name === "residences") &&
          !(hotLoaded && name === "gi");
      });
    }

    function refresh() {
      var names = activeLayers();
      updateLegend(map, layers);
      if (!names.length) {
        setStatus(hotLoaded && map.hasLayer(layers.gi) ? hotStatus :
          "Aucune couche de faits affichée : choisissez-en dans le menu des couches.");
        return;
      }
      if (controller) {
        controller.abort();
      }
      controller = "AbortController" in window ? new AbortController() : null;
      var bounds = map.getBounds();
      var bbox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
        .map(function (v) { return v.toFixed(5); })
        .join(",");
      var url = withArgs(config.dataUrl, {
        z: String(map.getZoom()),
        bbox: bbox,
        layers: names.join(","),
      });
      setStatus("Chargement…");
      fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined,
      })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          draw(map, layers, data);
          hotLoaded = hotLoaded || Boolean(data.gi);
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") {
            return;
          }
          setStatus("Les données de la carte n'ont pas pu être chargées. Réessayez dans un instant.", true);
        });
    }

    function scheduleRefresh() {
      if (timer) {
        clearTimeout(timer);
      }
      timer = setTimeout(refresh, 200);
    }

    map.on("moveend", scheduleRefresh);
    map.on("overlayadd overlayremove", scheduleRefresh);
    refresh();
  }

  /* ------------------------------------------------------------------ legend */

  /* The legend goes under the map, never over the data; folded on phones (one tap
     opens it), open on wider screens. */
  function installLegend(map) {
    var source = document.getElementById("map-legend");
    if (!source) {
      return;
    }
    var container = map.getContainer();
    container.parentNode.insertBefore(source, container.nextSibling);
    source.classList.add("under-map");
    source.hidden = false;
    var details = source.querySelector("details");
    if (details && window.matchMedia && !window.matchMedia("(min-width: 720px)").matches) {
      details.open = false;
    }
  }

  function updateLegend(map, layers) {
    var blocks = document.querySelectorAll("#map-legend .legend-block");
    Array.prototype.forEach.call(blocks, function (block) {
      var layer = layers[block.getAttribute("data-layer")];
      block.hidden = Boolean(layer) && !map.hasLayer(layer);
    });
  }

  function fillHexLegend(breaks) {
    // A hexagon counting n facts has the colour of the first class whose bound is at
    // least n (orfi.geo.indicators.classify): class i holds the whole counts above the
    // previous bound, up to its own. A class that holds no whole count is not listed.
    var items = document.querySelectorAll("#legend-hex li");
    var low = 0;
    Array.prototype.forEach.call(items, function (item, i) {
      var text = item.querySelector(".legend-text");
      var high = i < breaks.length ? Math.floor(breaks[i]) : low;
      if (high <= low) {
        item.hidden = true;
        return;
      }
      item.hidden = false;
      text.textContent =
        high === low + 1 ? NUMBER.format(high) : NUMBER.format(low + 1) + " – " + NUMBER.format(high);
      low = high;
    });
  }

  /* -------------------------------------------------------------------- draw */

  var hotStatus = "";

  function draw(map, layers, data) {
    var parts = [];
    if (data.hex) {
      drawHex(layers.hex, data.hex);
      fillHexLegend(data.hex.breaks);
    }
    if (data.gi) {
      drawHotspots(layers.gi, data.gi);
      hotStatus =
        plural(data.gi.hot_total, "point chaud") + ", " +
        plural(data.gi.cold_total, "point froid") + " parmi " +
        plural(data.gi.tested, "résidence") + " testées";
      var method = document.getElementById("legend-gi");
      if (method) {
        method.textContent =
          "Chaque résidence comparée aux autres d'après ses logements, sur " +
          plural(data.gi.tested, "résidence") + "\u00a0; au plus " + DECIMAL.format(100 * data.gi.fdr) +
          "\u00a0% des résidences signalées le seraient par hasard.";
      }
    }
    if (data.heat) {
      drawHeat(layers.heat, data.heat);
    }
    if (data.residences) {
      drawResidences(layers.residences, data.residences);
    }
    if (hotStatus && map.hasLayer(layers.gi)) {
      parts.push(hotStatus);
    }
    if (data.facts) {
      parts.unshift(drawFacts(layers.facts, data.facts));
    }
    setStatus(parts.join(" · ") || "Carte à jour.");
  }

  function hexagon(id, options) {
    return L.polygon(h3.cellToBoundary(id), options);
  }

  /* Keeps the layers of ``group`` in step with ``items``: a layer whose key and
     signature are unchanged stays (with its open popup, if any), the others are
     removed or created. Panning or zooming thus never closes what the user reads. */
  var stores = {};

  function sync(name, group, items, make, bulkAdd) {
    var store = stores[name] || (stores[name] = {});
    var seen = {};
    var added = [];
    items.forEach(function (item) {
      seen[item.key] = true;
      var kept = store[item.key];
      if (kept && kept.signature === item.signature) {
        return;
      }
      if (kept) {
        group.removeLayer(kept.layer);
      }
      var layer = make(item);
      store[item.key] = { signature: item.signature, layer: layer };
      added.push(layer);
    });
    var removed = [];
    Object.keys(store).forEach(function (key) {
      if (!seen[key]) {
        removed.push(store[key].layer);
        delete store[key];
      }
    });
    if (bulkAdd) {
      changeCluster(group, removed, added);
    } else {
      removed.forEach(function (layer) { group.removeLayer(layer); });
      added.forEach(function (layer) { group.addLayer(layer); });
    }
  }

  /* MarkerCluster folds an open spider (the markers of one spot fanned out), closing
     the popup open on one of them, whenever layers are added or removed, even none.
     So nothing is done when nothing changed, and while a spider is open the changes
     wait until it folds (a click on the map, a zoom). */
  var clusters = {};

  function clusterState(group) {
    var id = L.Util.stamp(group);
    if (!clusters[id]) {
      var state = (clusters[id] = { pending: [], spiderOpen: false });
      group.on("spiderfied", function () {
        state.spiderOpen = true;
      });
      group.on("unspiderfied", function () {
        state.spiderOpen = false;
        changeCluster(group, [], []);
      });
    }
    return clusters[id];
  }

  function changeCluster(group, removed, added) {
    var state = clusterState(group);
    if (removed.length || added.length) {
      state.pending.push([removed, added]);
    }
    if (state.spiderOpen) {
      return;
    }
    var changes = state.pending;
    state.pending = [];
    changes.forEach(function (change) {
      group.removeLayers(change[0]);
      group.addLayers(change[1]);
    });
  }

  function drawHex(group, hex) {
    var items = hex.cells.map(function (id, i) {
      var level = Math.max(0, Math.min(HEX_COLOURS.length - 1, hex.classes[i]));
      return { key: id, signature: hex.counts[i] + "/" + level, id: id, count: hex.counts[i], level: level };
    });
    sync("hex", group, items, function (item) {
      var polygon = hexagon(item.id, {
        pane: "orfi-hex",
        renderer: renderers.hex,
        stroke: true,
        weight: 0.5,
        color: "#ffffff",
        fillColor: HEX_COLOURS[item.level],
        fillOpacity: 0.6,
      });
      // Leaflet calls this again on update(): the same box while the popup is open.
      var box = null;
      polygon.bindPopup(function () {
        return box || (box = sectorPopup(polygon, item));
      }, POPUP_OPTIONS);
      polygon.on("popupclose", function () {
        box = null;
      });
      return polygon;
    });
  }

  /* Hot (and cold) résidences: a ring around the résidence's circle, red or blue,
     whose popup says in words what was found and links to the facts. */
  /* A density hexagon: its count at once, then its categories and the link to the
     list of its facts (one small request, when the popup opens). */
  function sectorPopup(polygon, item) {
    var box = el("div", "map-popup");
    box.appendChild(el("strong", null, plural(item.count, "fait") + " dans ce secteur"));
    var pending = line(box, null, "Catégories…");
    fetch(withArgs(config.sectorUrl, { secteur: item.id }), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (sector) {
        box.removeChild(pending);
        categoryList(box, sector.categories);
        var links = el("p", "popup-links");
        link(links, sector.list_url, "Voir la liste de ces faits");
        box.appendChild(links);
        if (polygon.getPopup()) {
          polygon.getPopup().update();
        }
      })
      .catch(function () {
        pending.textContent = "Le détail n'a pas pu être chargé.";
      });
    return box;
  }

  function drawHotspots(group, gi) {
    var items = gi.rows.map(function (row) {
      return { key: String(row.id), signature: JSON.stringify(row), row: row };
    });
    sync("gi", group, items, function (item) {
      var row = item.row;
      var colour = row.hot ? HOT : COLD;
      var ring = L.circleMarker([row.latitude, row.longitude], {
        pane: "orfi-gi",
        renderer: renderers.gi,
        radius: 28,
        color: colour,
        weight: 4,
        fillColor: colour,
        fillOpacity: 0.12,
      });
      reachableByKeyboard(
        ring,
        (row.hot ? "Point chaud : " : "Point froid : ") + plural(row.count, "fait") +
          " dans la résidence " + row.name,
        { color: "#000000", weight: 6 },
        { color: colour, weight: 4 }
      );
      ring.bindPopup(function () {
        return hotspotPopup(row, gi);
      }, POPUP_OPTIONS);
      return ring;
    });
  }

  function hotspotPopup(row, gi) {
    var box = el("div", "map-popup");
    box.appendChild(el("strong", null, (row.hot ? "Point chaud\u00a0: " : "Point froid\u00a0: ") + row.name));
    line(box, null, plural(row.count, "fait") + " dans cette résidence\u00a0; " +
      DECIMAL.format(row.expected) + (row.expected >= 2 ? " attendus" : " attendu") +
      " pour ses " + plural(row.logements, "logement") + " au taux des autres.");
    line(box, "Taux lissé", DECIMAL.format(row.smoothed) + " pour 100 logements");
    categoryList(box, row.categories);
    line(box, null, (row.hot ? "Bien plus" : "Bien moins") +
      " de faits que ses logements et les écarts habituels entre résidences ne " +
      "l'expliquent\u00a0; au plus " + DECIMAL.format(100 * gi.fdr) +
      "\u00a0% des résidences signalées le seraient par hasard.").className += " popup-note";
    if (row.list_url) {
      var links = el("p", "popup-links");
      link(links, row.list_url, "Voir la liste de ces faits");
      box.appendChild(links);
    }
    return box;
  }

  function categoryList(box, categories) {
    if (!categories || !categories.length) {
      return;
    }
    var list = el("ul", "popup-categories");
    categories.forEach(function (pair) {
      list.appendChild(el("li", null, pair[0] + "\u00a0: " + NUMBER.format(pair[1])));
    });
    box.appendChild(list);
  }

  /* Hot spots and résidences on the keyboard: their SVG paths take the focus (Tab)
     while in view, carry a name for screen readers, and open their popup with Enter
     or Space (Escape closes it). Leaflet builds a new path each time a layer is
     added, hence the set-up on "add". */
  function reachableByKeyboard(layer, label, focusedStyle, restStyle) {
    layer.on("add", function () {
      var path = layer.getElement();
      if (!path) {
        return;
      }
      path.setAttribute("tabindex", inView(layer) ? "0" : "-1");
      path.setAttribute("role", "button");
      path.setAttribute("aria-label", label);
      L.DomEvent.on(path, "keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          L.DomEvent.preventDefault(event);
          layer.openPopup();
        } else if (event.key === "Escape") {
          layer.closePopup();
        }
      });
      // Marked for the keyboard only: a click focuses the path too.
      L.DomEvent.on(path, "focus", function () {
        if (!path.matches || path.matches(":focus-visible")) {
          layer.setStyle(focusedStyle);
        }
      });
      L.DomEvent.on(path, "blur", function () {
        layer.setStyle(restStyle);
      });
    });
  }

  function inView(layer) {
    var bounds = currentMap.getBounds();
    return layer.getBounds
      ? bounds.intersects(layer.getBounds())
      : bounds.contains(layer.getLatLng());
  }

  // Tab goes through what the user sees, not through the whole patrimoine.
  function updateTabStops(layers) {
    ["gi", "residences"].forEach(function (name) {
      layers[name].eachLayer(function (layer) {
        var path = layer.getElement && layer.getElement();
        if (path && path.hasAttribute("role")) {
          path.setAttribute("tabindex", inView(layer) ? "0" : "-1");
        }
      });
    });
  }

  function drawHeat(layer, heat) {
    layer.setOptions({ max: Math.max(1, heat.max) });
    layer.setLatLngs(heat.points);
  }

  function drawResidences(group, residences) {
    var maxCount = Math.max(1, residences.max_count);
    var items = residences.rows.map(function (row) {
      return { key: String(row[0]), signature: JSON.stringify(row) + "/" + maxCount, row: row };
    });
    sync("residences", group, items, function (item) {
      var row = item.row;
      var id = row[0], name = row[1], reference = row[2], lat = row[3], lon = row[4];
      var logements = row[5], count = row[6], rate = row[7], level = row[8];
      var qpv = row[9], previous = row[10];
      var radius = count > 0 ? 5 + 17 * Math.sqrt(count / maxCount) : 4;
      var colour = level >= 0 ? RATE_COLOURS[Math.min(level, RATE_COLOURS.length - 1)] : "#bbbbbb";
      var marker = L.circleMarker([lat, lon], {
        pane: "orfi-residences",
        renderer: renderers.residences,
        radius: radius,
        color: "#1b1f24",
        weight: 1.5,
        fillColor: colour,
        fillOpacity: 0.9,
      });
      marker.bindPopup(function () {
        var box = el("div", "map-popup");
        box.appendChild(el("strong", null, name));
        line(box, "Référence", reference);
        line(box, "Logements", NUMBER.format(logements));
        line(box, "Faits", NUMBER.format(count));
        line(box, "Pour 100 logements", rate === null ? "—" : DECIMAL.format(rate));
        var change = count - previous;
        line(box, "Période précédente", NUMBER.format(previous) + " (" + (change > 0 ? "+" : "") + NUMBER.format(change) + ")");
        if (qpv) {
          line(box, "QPV", qpv);
        }
        var links = el("p", "popup-links");
        link(links, withArgs(config.statsUrl, { residence: String(id) }), "Statistiques de la résidence");
        box.appendChild(links);
        return box;
      });
      reachableByKeyboard(
        marker,
        name + " : " + plural(count, "fait"),
        { color: "#000000", weight: 4 },
        { color: "#1b1f24", weight: 1.5 }
      );
      // An element, not a string: Leaflet would read a string as HTML.
      marker.bindTooltip(el("span", null, name), { direction: "top", offset: [0, -radius] });
      return marker;
    });
  }

  function drawFacts(cluster, facts) {
    var rows = facts.rows || [];
    var items = rows.map(function (row) {
      return { key: row[7], signature: row.join("|"), row: row };
    });
    sync("facts", cluster, items, function (item) {
      var row = item.row;
      var marker = L.marker([row[0], row[1]], { title: row[2] + " · " + row[3], alt: row[2] });
      marker.bindPopup(function () {
        var box = el("div", "map-popup");
        box.appendChild(el("strong", "reference", row[2]));
        line(box, null, row[3]);
        line(box, "Date", row[4]);
        if (row[5]) {
          line(box, "Lieu", row[5]);
        }
        line(box, "Statut", row[6]);
        var links = el("p", "popup-links");
        link(links, config.detailUrl.replace(config.placeholder, encodeURIComponent(row[7])), "Ouvrir le fait");
        box.appendChild(links);
        return box;
      });
      return marker;
    }, true);
    if (!facts.rows) {
      return plural(facts.count, "fait") + " dans la vue : zoomez ou filtrez pour les voir un par un (" +
        NUMBER.format(facts.limit) + " au plus)";
    }
    return plural(rows.length, "fait") + (rows.length > 1 ? " affichés" : " affiché") + " un par un";
  }

  /* ------------------------------------------------------ find a résidence */

  /* « Trouver une résidence »: a combobox (ARIA 1.2 pattern, focus stays in the input,
     aria-activedescendant names the option) over the résidences the page carries, by
     name, reference, address or commune, accents and case ignored. Nothing is asked
     of the server: it works on what the page already has, offline too. */
  var PLACE_LIMIT = 8;

  function fold(text) {
    return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function placeDetail(row) {
    return [row[2], row[11], row[12]].filter(Boolean).join(" · ");
  }

  function findPlaces(index, query) {
    var words = fold(query).split(/\s+/).filter(Boolean);
    if (!words.length) {
      return [];
    }
    var found = [];
    index.forEach(function (entry) {
      if (words.every(function (w) { return entry.text.indexOf(w) >= 0; })) {
        // Name or reference starting with the first word first, then by name.
        var rank = entry.name.indexOf(words[0]) === 0 || entry.reference.indexOf(words[0]) === 0 ? 0 : 1;
        found.push({ rank: rank, entry: entry });
      }
    });
    found.sort(function (a, b) {
      return a.rank - b.rank || a.entry.name.localeCompare(b.entry.name);
    });
    return found.slice(0, PLACE_LIMIT).map(function (f) { return f.entry.row; });
  }

  function installPlaceSearch(map, group, rows) {
    var box = document.getElementById("place-search");
    var input = document.getElementById("place-input");
    var list = document.getElementById("place-options");
    var count = document.getElementById("place-count");
    if (!box || !input || !list || !rows.length) {
      return;
    }
    var index = rows.map(function (row) {
      return {
        row: row,
        name: fold(row[1]),
        reference: fold(row[2]),
        text: [row[1], row[2], row[11], row[12]].map(fold).join(" "),
      };
    });
    var shown = [];
    var active = -1;
    box.hidden = false;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (item, j) {
        item.setAttribute("aria-selected", j === i ? "true" : "false");
      });
      if (i >= 0 && list.children[i]) {
        input.setAttribute("aria-activedescendant", list.children[i].id);
        list.children[i].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function suggest() {
      shown = findPlaces(index, input.value);
      list.textContent = "";
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (!input.value.trim()) {
        count.textContent = "";
        close();
        return;
      }
      shown.forEach(function (row, i) {
        var item = el("li");
        item.id = "place-option-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.appendChild(el("span", "place-name", row[1]));
        item.appendChild(el("span", "place-detail", placeDetail(row)));
        // mousedown, not click: the input keeps the focus.
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(row);
        });
        list.appendChild(item);
      });
      if (!shown.length) {
        var none = el("li", "place-none", "Aucune résidence ne correspond.");
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        list.appendChild(none);
      }
      count.textContent = shown.length ? plural(shown.length, "résidence trouvée") : "Aucune résidence trouvée";
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function choose(row) {
      input.value = row[1];
      close();
      map.closePopup();
      if (!map.hasLayer(group)) {
        map.addLayer(group);
      }
      var kept = (stores.residences || {})[String(row[0])];
      var target = L.latLng(row[3], row[4]);
      var zoom = Math.max(map.getZoom(), Math.min(16, map.getMaxZoom()));
      var open = function () {
        if (kept) {
          kept.layer.openPopup();
        }
      };
      if (map.getCenter().distanceTo(target) < 1 && map.getZoom() === zoom) {
        open();
      } else {
        map.once("moveend", open);
        map.flyTo(target, zoom, { duration: 0.6 });
      }
      count.textContent = "Carte centrée sur " + row[1];
    }

    input.addEventListener("input", suggest);
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && shown.length;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (list.hidden) {
          suggest();
        }
        if (shown.length) {
          highlight(active < shown.length - 1 ? active + 1 : 0);
        }
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (open) {
          highlight(active > 0 ? active - 1 : shown.length - 1);
        }
      } else if (event.key === "Enter") {
        if (open) {
          event.preventDefault();
          choose(shown[active >= 0 ? active : 0]);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          close();
        } else {
          input.value = "";
        }
      }
    });
    input.addEventListener("blur", close);
  }

  /* --------------------------------------------------------------- bootstrap */

  var registry = window.orfiMaps && window.orfiMaps[config.key];
  if (registry) {
    start(registry);
  } else {
    document.addEventListener("orfi:map-ready", function (event) {
      if (event.detail === config.key) {
        start(window.orfiMaps[config.key]);
      }
    });
  }
})();
