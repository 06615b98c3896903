/* The field form in the browser: GPS position, map pin, nearest résidence, staff-only
 * fields, description counter, single submission.
 *
 * Progressive enhancement: without this script the form still submits and the server
 * uses the chosen résidence's position. The page passes its data in
 * <script type="application/json" id="report-config">.
 */
(function () {
  "use strict";

  var form = document.getElementById("report-form");
  var configNode = document.getElementById("report-config");
  if (!form || !configNode) {
    return;
  }

  var config;
  try {
    config = JSON.parse(configNode.textContent);
  } catch (error) {
    return;
  }

  // The domain's limits (orfi/limits.py), served by every page: never copied here.
  var LIMITS = {};
  var limitsNode = document.getElementById("orfi-limits");
  try {
    LIMITS = limitsNode ? JSON.parse(limitsNode.textContent) : {};
  } catch (error) {
    LIMITS = {};
  }

  var NBSP = "\u00a0"; // keeps "± 15 m" on one line
  var GPS_WATCH_MS = 20000; // keep the best fix for this long, then stop the GPS
  var STAFF_VICTIMS = ["personnel_bailleur", "personnel_prestataire"];
  var residences = (config.residences || []).filter(function (r) {
    return typeof r.lat === "number" && typeof r.lon === "number";
  });
  var residencesById = {};
  residences.forEach(function (r) {
    residencesById[String(r.id)] = r;
  });

  var $ = function (id) {
    return document.getElementById(id);
  };
  var inputs = {
    latitude: $("latitude"),
    longitude: $("longitude"),
    accuracy: $("gps_accuracy_m"),
    source: $("location_source"),
    residence: $("residence"),
    batiment: $("batiment"),
    victime: $("victime"),
    confirm: $("confirm_position"),
    description: $("description"),
    category: $("category"),
  };
  var geoStatus = $("geo-status");
  var confirmBlock = form.querySelector(".confirm-position");
  var confirmHint = $("confirm_position-hint");
  var residenceHint = $("residence-hint");

  // A position submitted earlier (the page is shown again with errors) is kept as is.
  var resubmitted = form.hasAttribute("data-resubmitted");
  var residenceTouched = resubmitted;

  /* ---------------------------------------------------------------- helpers */

  function haversineM(lat1, lon1, lat2, lon2) {
    var rad = Math.PI / 180;
    var dLat = (lat2 - lat1) * rad;
    var dLon = (lon2 - lon1) * rad;
    var a =
      Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(a)));
  }

  function formatDistance(metres) {
    if (metres < 1000) {
      return Math.round(metres) + NBSP + "m";
    }
    return (metres / 1000).toFixed(1).replace(".", ",") + NBSP + "km";
  }

  function currentPosition() {
    if (!inputs.latitude || !inputs.longitude) {
      return null;
    }
    var lat = parseFloat(inputs.latitude.value);
    var lon = parseFloat(inputs.longitude.value);
    if (isNaN(lat) || isNaN(lon)) {
      return null;
    }
    return { lat: lat, lon: lon };
  }

  function chosenResidence() {
    return inputs.residence ? residencesById[inputs.residence.value] || null : null;
  }

  function setStatus(text, kind) {
    if (!geoStatus) {
      return;
    }
    geoStatus.textContent = text;
    geoStatus.classList.remove("coarse", "error", "ok");
    if (kind) {
      geoStatus.classList.add(kind);
    }
  }

  /* -------------------------------------------------------------------- map */

  var map = null;
  var pin = null;
  var accuracyCircle = null;
  var residenceLayers = {};
  var mapNode = $("report-map");

  function residenceStyle(selected) {
    return selected
      ? { radius: 9, color: "#0b5cad", weight: 3, fillColor: "#0b5cad", fillOpacity: 0.45 }
      : { radius: 7, color: "#12324f", weight: 2, fillColor: "#ffffff", fillOpacity: 0.9 };
  }

  function initMap() {
    // The map stays hidden (as without JavaScript) if Leaflet did not load.
    if (!mapNode || typeof window.L === "undefined") {
      return;
    }
    var L = window.L;
    mapNode.classList.remove("is-hidden");
    map = L.map(mapNode, {
      attributionControl: Boolean(config.tileUrl),
      zoomSnap: 0.5,
      // On a phone one finger scrolls the page; the pin is placed by a tap or dragged.
      dragging: !L.Browser.mobile,
    });
    if (config.tileUrl) {
      L.tileLayer(config.tileUrl, {
        attribution: config.tileAttribution || "",
        maxZoom: 19,
      }).addTo(map);
    } else {
      mapNode.classList.add("no-tiles");
    }

    // Without a base map, the sector's résidences give the map its meaning.
    var permanentLabels = !config.tileUrl && residences.length <= 12;
    residences.forEach(function (r) {
      addResidenceMarker(r, permanentLabels);
    });
    fitToSector();
    declutterLabels();
    map.on("zoomend moveend", declutterLabels);

    map.on("click", function (event) {
      setPositionFromMap(event.latlng);
    });
  }

  function addResidenceMarker(r, permanentLabel) {
    if (!map || residenceLayers[String(r.id)]) {
      return;
    }
    var L = window.L;
    // An element, not a string: Leaflet would read a string as HTML.
    var label = document.createElement("span");
    label.textContent = r.name;
    var circle = L.circleMarker([r.lat, r.lon], residenceStyle(false))
      .bindTooltip(label, {
        permanent: Boolean(permanentLabel),
        direction: "bottom",
        offset: [0, 6],
        className: "residence-label",
      })
      .addTo(map);
    circle.on("click", function (event) {
      L.DomEvent.stopPropagation(event);
      if (inputs.residence) {
        inputs.residence.value = String(r.id);
        residenceTouched = true;
        onResidenceChanged();
      }
    });
    residenceLayers[String(r.id)] = circle;
  }

  /* Permanent labels of résidences close to each other overlap into an unreadable
     block: a label that would cover one already shown is hidden (the chosen
     résidence's first), until a zoom gives it room. The list below the map names
     them all. */
  function declutterLabels() {
    var chosen = inputs.residence ? inputs.residence.value : "";
    var ids = Object.keys(residenceLayers).sort(function (a, b) {
      return (b === chosen) - (a === chosen);
    });
    var shown = [];
    ids.forEach(function (id) {
      var tooltip = residenceLayers[id].getTooltip();
      var node = tooltip && tooltip.getElement();
      if (!node || !tooltip.options.permanent) {
        return;
      }
      node.style.visibility = "";
      var box = node.getBoundingClientRect();
      var covers = shown.some(function (other) {
        return box.left < other.right && other.left < box.right &&
          box.top < other.bottom && other.top < box.bottom;
      });
      if (covers) {
        node.style.visibility = "hidden";
      } else {
        shown.push(box);
      }
    });
  }

  function fitToSector() {
    if (!map) {
      return;
    }
    if (residences.length === 0) {
      map.setView([46.6, 2.4], 5); // France, until a position is known
      return;
    }
    var bounds = window.L.latLngBounds(
      residences.map(function (r) {
        return [r.lat, r.lon];
      })
    );
    map.fitBounds(bounds, { padding: [28, 28], maxZoom: 17 });
  }

  // Frame the pin with what gives it meaning: its uncertainty, and the chosen résidence
  // (with a base map) or the nearest résidences (without one). No animation: cheap phones.
  function focusOnPosition(position, accuracy) {
    if (!map) {
      return;
    }
    var L = window.L;
    var here = L.latLng(position.lat, position.lon);
    var bounds = L.latLngBounds([here, here]);
    if (accuracy) {
      bounds.extend(here.toBounds(2 * Math.min(accuracy, 1500)));
    }
    var nearby = residences
      .map(function (r) {
        return { r: r, d: haversineM(position.lat, position.lon, r.lat, r.lon) };
      })
      .filter(function (item) {
        return item.d < 3000;
      })
      .sort(function (a, b) {
        return a.d - b.d;
      });
    var chosen = chosenResidence();
    nearby
      .filter(function (item, index) {
        return config.tileUrl ? chosen && item.r.id === chosen.id : index < 3;
      })
      .forEach(function (item) {
        bounds.extend([item.r.lat, item.r.lon]);
      });
    map.fitBounds(bounds, { padding: [28, 28], maxZoom: 17, animate: false });
  }

  function showAccuracy(position, accuracy) {
    if (!map) {
      return;
    }
    if (accuracy == null) {
      if (accuracyCircle) {
        map.removeLayer(accuracyCircle);
        accuracyCircle = null;
      }
      return;
    }
    var latlng = [position.lat, position.lon];
    if (accuracyCircle) {
      accuracyCircle.setLatLng(latlng).setRadius(accuracy);
      return;
    }
    accuracyCircle = window.L.circle(latlng, {
      radius: accuracy,
      interactive: false,
      color: "#0b5cad",
      weight: 1,
      fillOpacity: 0.08,
    }).addTo(map);
  }

  function placePin(position) {
    if (!map) {
      return;
    }
    var latlng = [position.lat, position.lon];
    if (pin) {
      pin.setLatLng(latlng);
      return;
    }
    pin = window.L.marker(latlng, {
      draggable: true,
      autoPan: true,
      title: "Position du fait",
      alt: "Épingle : position du fait",
    }).addTo(map);
    pin.on("dragend", function () {
      setPositionFromMap(pin.getLatLng());
    });
  }

  function highlightResidence() {
    var chosen = inputs.residence ? inputs.residence.value : "";
    Object.keys(residenceLayers).forEach(function (id) {
      residenceLayers[id].setStyle(residenceStyle(id === chosen));
      if (id === chosen) {
        residenceLayers[id].bringToFront();
      }
    });
  }

  /* --------------------------------------------------------------- position */

  function writePosition(position, source, accuracy) {
    inputs.latitude.value = position.lat.toFixed(6);
    inputs.longitude.value = position.lon.toFixed(6);
    inputs.accuracy.value = accuracy == null ? "" : String(Math.round(accuracy * 10) / 10);
    inputs.source.value = source;
  }

  function setPositionFromMap(latlng) {
    stopWatching();
    var position = { lat: latlng.lat, lon: latlng.lng };
    writePosition(position, "map", null);
    showAccuracy(position, null);
    placePin(position);
    setStatus("Position placée sur la carte.", "ok");
    afterPositionChange();
  }

  function afterPositionChange() {
    var position = currentPosition();
    if (position && !residenceTouched) {
      selectNearestResidence(position);
    }
    scheduleNearest(position);
    highlightResidence();
    filterBatiments();
    checkDistance(false);
    scheduleNearby();
  }

  function selectNearestResidence(position) {
    if (!inputs.residence || residences.length === 0) {
      return;
    }
    var best = null;
    var bestDistance = Infinity;
    residences.forEach(function (r) {
      var d = haversineM(position.lat, position.lon, r.lat, r.lon);
      if (d < bestDistance) {
        best = r;
        bestDistance = d;
      }
    });
    if (!best) {
      return;
    }
    inputs.residence.value = String(best.id);
    if (residenceHint) {
      residenceHint.textContent =
        "Présélectionnée : la plus proche de votre position (à " + formatDistance(bestDistance) + ").";
    }
  }

  function checkDistance(initial) {
    if (!confirmBlock) {
      return;
    }
    var position = currentPosition();
    var residence = chosenResidence();
    var limit = config.maxDistanceM || 300;
    var gap = position && residence ? haversineM(position.lat, position.lon, residence.lat, residence.lon) : 0;
    if (gap > limit) {
      if (confirmHint) {
        confirmHint.textContent =
          "L'épingle est à " + formatDistance(gap) + " de « " + residence.name +
          " » (plus de " + limit + NBSP + "m) : confirmez la position, déplacez l'épingle " +
          "ou choisissez la bonne résidence.";
      }
      confirmBlock.classList.remove("is-hidden");
    } else if (!(initial && confirmBlock.classList.contains("has-error"))) {
      confirmBlock.classList.add("is-hidden");
      if (inputs.confirm) {
        inputs.confirm.checked = false;
      }
    }
  }

  /* ----------------------------------------------------------------- GPS */

  var watchId = null;
  var watchTimer = null;
  var bestFix = null;

  function stopWatching() {
    if (watchId !== null) {
      navigator.geolocation.clearWatch(watchId);
      watchId = null;
    }
    if (watchTimer !== null) {
      clearTimeout(watchTimer);
      watchTimer = null;
    }
  }

  function onFix(fix) {
    var accuracy = fix.coords.accuracy;
    if (bestFix && accuracy >= bestFix.coords.accuracy) {
      return;
    }
    bestFix = fix;
    var position = { lat: fix.coords.latitude, lon: fix.coords.longitude };
    writePosition(position, "gps", accuracy);
    var rounded = Math.round(accuracy);
    if (accuracy > (config.coarseAccuracyM || 100)) {
      setStatus(
        "Position approximative (±" + NBSP + rounded + NBSP + "m)" + NBSP +
          ": vérifiez l'épingle ou choisissez la résidence.",
        "coarse"
      );
    } else {
      setStatus("Position GPS à ±" + NBSP + rounded + NBSP + "m", "ok");
    }
    showAccuracy(position, accuracy);
    placePin(position);
    afterPositionChange();
    focusOnPosition(position, accuracy);
  }

  function onGeoError(error) {
    if (bestFix) {
      return; // a later timeout does not undo a fix already shown
    }
    stopWatching();
    var reason = "pas de signal GPS";
    if (error && error.code === 1) {
      reason = "localisation refusée";
    } else if (error && error.code === 3) {
      reason = "délai dépassé";
    }
    setStatus(
      "Position indisponible (" + reason + ") : choisissez la résidence, ou touchez la carte pour placer l'épingle.",
      "error"
    );
  }

  function startWatching() {
    if (!("geolocation" in navigator)) {
      setStatus(
        "Position indisponible sur cet appareil : choisissez la résidence, ou touchez la carte.",
        "error"
      );
      return;
    }
    setStatus("Position : recherche en cours…", null);
    try {
      watchId = navigator.geolocation.watchPosition(onFix, onGeoError, {
        enableHighAccuracy: true,
        maximumAge: 0,
        timeout: GPS_WATCH_MS,
      });
    } catch (error) {
      onGeoError(null);
      return;
    }
    watchTimer = setTimeout(function () {
      stopWatching();
      if (!bestFix && geoStatus && !geoStatus.classList.contains("error")) {
        onGeoError({ code: 3 });
      }
    }, GPS_WATCH_MS);
  }

  /* ------------------------------------------------------------ résidence */

  function onResidenceChanged() {
    highlightResidence();
    if (map) {
      declutterLabels();
    }
    filterBatiments();
    checkDistance(false);
    if (residenceHint) {
      residenceHint.textContent = "Choisie par vous.";
    }
    var residence = chosenResidence();
    if (map && residence && !currentPosition()) {
      map.setView([residence.lat, residence.lon], Math.max(map.getZoom(), 16));
    }
  }

  function filterBatiments() {
    if (!inputs.batiment) {
      return;
    }
    var residenceId = inputs.residence ? inputs.residence.value : "";
    var batiments = config.batiments || {};
    var selectedStillValid = true;
    Array.prototype.forEach.call(inputs.batiment.options, function (option) {
      if (!option.value) {
        return; // "non précisé"
      }
      var belongs = String(batiments[option.value]) === residenceId;
      option.disabled = !belongs;
      option.hidden = !belongs;
      if (option.selected && !belongs) {
        selectedStillValid = false;
      }
    });
    if (!selectedStillValid) {
      inputs.batiment.value = "";
    }
  }

  /* ------------------------------------------------- other résidences */

  // The page carries only a few résidences (config.truncated): with a position, the
  // server is asked for the nearest ones; a search finds any other one. Without
  // network, both fall back on the résidences this copy of the page carries.
  var searchBox = $("residence-search");
  var searchInput = $("residence-search-input");
  var searchStatus = $("residence-search-status");
  var searchResults = $("residence-search-results");
  var nearestTimer = null;
  var nearestAsked = null;
  var NEAREST_AGAIN_M = 200; // ask again only when the position moved that far

  function ensureOption(select, value, label) {
    if (!select || value === null || value === undefined || value === "") {
      return;
    }
    var key = String(value);
    var found = Array.prototype.some.call(select.options, function (option) {
      return option.value === key;
    });
    if (!found) {
      var option = document.createElement("option");
      option.value = key;
      option.textContent = label || key;
      select.appendChild(option);
    }
  }

  function addResidence(item) {
    var key = String(item.id);
    if (!residencesById[key]) {
      var r = { id: item.id, name: item.name, lat: item.lat, lon: item.lon };
      residencesById[key] = r;
      if (typeof r.lat === "number" && typeof r.lon === "number") {
        residences.push(r);
        addResidenceMarker(r, false);
      }
    }
    ensureOption(inputs.residence, item.id, item.label || item.name);
    config.batiments = config.batiments || {};
    (item.batiments || []).forEach(function (b) {
      config.batiments[String(b.id)] = item.id;
      ensureOption(inputs.batiment, b.id, b.label);
    });
  }

  function fetchResidences(params) {
    var query = Object.keys(params)
      .map(function (name) {
        return name + "=" + encodeURIComponent(params[name]);
      })
      .join("&");
    return fetch(config.searchUrl + "?" + query, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response.json();
    });
  }

  function scheduleNearest(position) {
    if (!config.truncated || !config.searchUrl || !position || !navigator.onLine) {
      return;
    }
    if (nearestAsked && haversineM(position.lat, position.lon, nearestAsked.lat, nearestAsked.lon) < NEAREST_AGAIN_M) {
      return;
    }
    clearTimeout(nearestTimer);
    nearestTimer = setTimeout(function () {
      nearestAsked = position;
      fetchResidences({ latitude: position.lat.toFixed(6), longitude: position.lon.toFixed(6) })
        .then(function (body) {
          (body.items || []).forEach(addResidence);
          var now = currentPosition();
          if (now && !residenceTouched) {
            selectNearestResidence(now);
          }
          highlightResidence();
          filterBatiments();
          checkDistance(false);
        })
        .catch(function () {
          nearestAsked = null; // the cached résidences do; try again on the next fix
        });
    }, 300);
  }

  function localMatches(text) {
    var words = text.toLocaleLowerCase("fr").split(/\s+/);
    var items = [];
    Array.prototype.forEach.call(inputs.residence ? inputs.residence.options : [], function (option) {
      var label = option.textContent.toLocaleLowerCase("fr");
      if (option.value && words.every(function (w) { return label.indexOf(w) !== -1; })) {
        var r = residencesById[option.value] || {};
        items.push({ id: option.value, name: r.name || option.textContent, label: option.textContent });
      }
    });
    return items.slice(0, 20);
  }

  function chooseResidence(item) {
    addResidence(item);
    inputs.residence.value = String(item.id);
    residenceTouched = true;
    onResidenceChanged();
    scheduleNearby();
    searchResults.textContent = "";
    searchStatus.textContent = "Résidence choisie : " + (item.label || item.name) + ".";
    inputs.residence.focus();
  }

  function showMatches(items, truncated, note) {
    searchResults.textContent = "";
    items.forEach(function (item) {
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button search-result";
      button.textContent = item.label || item.name;
      if (item.address) {
        var address = document.createElement("span");
        address.className = "hint";
        address.textContent = item.address;
        button.appendChild(address);
      }
      button.addEventListener("click", function () {
        chooseResidence(item);
      });
      li.appendChild(button);
      searchResults.appendChild(li);
    });
    var text = items.length
      ? items.length + (items.length > 1 ? " résidences trouvées" : " résidence trouvée")
      : "Aucune résidence trouvée";
    if (truncated) {
      text += " (les premières seulement : précisez la recherche)";
    }
    searchStatus.textContent = text + "." + (note ? " " + note : "");
  }

  function runSearch() {
    var text = searchInput.value.trim();
    var min = config.searchMinLength || 2;
    if (text.length < min) {
      searchStatus.textContent = "Tapez au moins " + min + " caractères.";
      return;
    }
    var offlineNote = "Hors connexion : recherche parmi les résidences gardées sur ce téléphone.";
    if (!navigator.onLine) {
      showMatches(localMatches(text), false, offlineNote);
      return;
    }
    searchStatus.textContent = "Recherche…";
    var params = { q: text };
    var position = currentPosition();
    if (position) {
      params.latitude = position.lat.toFixed(6);
      params.longitude = position.lon.toFixed(6);
    }
    fetchResidences(params).then(
      function (body) {
        showMatches(body.items || [], body.truncated);
      },
      function () {
        showMatches(localMatches(text), false, offlineNote);
      }
    );
  }

  function initSearch() {
    if (!searchBox || !searchInput || !inputs.residence) {
      return;
    }
    searchBox.classList.remove("is-hidden");
    $("residence-search-button").addEventListener("click", runSearch);
    searchInput.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault(); // Enter searches; it does not send the fact
        runSearch();
      }
    });
  }

  /* --------------------------------------------------------------- victime */

  function toggleStaffDetails() {
    var block = $("staff-details");
    if (!block || !inputs.victime) {
      return;
    }
    var staff = STAFF_VICTIMS.indexOf(inputs.victime.value) !== -1;
    block.classList.toggle("is-hidden", !staff);
    if (!staff) {
      Array.prototype.forEach.call(block.querySelectorAll("input, select, textarea"), function (control) {
        if (control.type === "checkbox" || control.type === "radio") {
          control.checked = false;
        } else {
          control.value = "";
        }
      });
    }
  }

  /* ----------------------------------------------------------- description */

  function initCounter() {
    var textarea = inputs.description;
    if (!textarea) {
      return;
    }
    var max = parseInt(textarea.getAttribute("maxlength"), 10);
    if (!max) {
      return;
    }
    var counter = document.createElement("p");
    counter.className = "char-counter";
    counter.id = "description-counter";
    textarea.insertAdjacentElement("afterend", counter);
    var update = function () {
      var left = max - textarea.value.length;
      counter.textContent = textarea.value.length + " / " + max + " caractères";
      counter.classList.toggle("near-limit", left <= Math.max(20, max / 10));
    };
    textarea.addEventListener("input", update);
    update();
  }

  /* ------------------------------------------------------------- gravity */

  // A radio group cannot be emptied by hand: tapping the chosen chip again clears it.
  function initGravityChips() {
    var radios = form.querySelectorAll('input[type="radio"][name="gravity"]');
    Array.prototype.forEach.call(radios, function (radio) {
      var wasChecked = false;
      radio.addEventListener("pointerdown", function () {
        wasChecked = radio.checked;
      });
      radio.closest("label").addEventListener("pointerdown", function () {
        wasChecked = radio.checked;
      });
      radio.addEventListener("click", function () {
        if (wasChecked) {
          radio.checked = false;
        }
        wasChecked = false;
      });
    });
  }

  /* -------------------------------------------------------------- submit */

  function initSubmit(queued) {
    var submitting = false;
    var buttons = form.querySelectorAll('button[type="submit"], input[type="submit"]');
    var labels = [];
    form.addEventListener("submit", function (event) {
      if (submitting) {
        event.preventDefault();
        return;
      }
      if (queued) {
        event.preventDefault();
        submitting = true;
        submitThroughQueue().then(
          function () {
            submitting = false;
          },
          function () {
            submitting = false;
          }
        );
        return;
      }
      submitting = true;
      // Disabled after the form data is built, so the browser still sends it.
      setTimeout(function () {
        Array.prototype.forEach.call(buttons, function (button, i) {
          labels[i] = button.tagName === "INPUT" ? button.value : button.textContent;
          button.disabled = true;
          button.setAttribute("aria-busy", "true");
          if (button.tagName === "INPUT") {
            button.value = "Envoi…";
          } else {
            button.textContent = "Envoi…";
          }
        });
      }, 0);
    });
    // Back from the next page (bfcache): the form is usable again.
    window.addEventListener("pageshow", function (event) {
      if (!event.persisted) {
        return;
      }
      submitting = false;
      Array.prototype.forEach.call(buttons, function (button, i) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        if (labels[i] !== undefined) {
          if (button.tagName === "INPUT") {
            button.value = labels[i];
          } else {
            button.textContent = labels[i];
          }
        }
      });
    });
  }

  /* ------------------------------------------------- offline-first sending */

  // With static/js/offline-queue.js, a fact is first kept on the phone (IndexedDB),
  // then sent to the JSON API; without it (or without IndexedDB) the form posts as is.
  var offline = window.orfiOffline || null;
  var offlineConfig = offline && offline.config;
  var notice = $("form-notice");
  var photosInput = $("photos");
  var photosList = $("photos-chosen");
  var submitButton = form.querySelector('input[type="submit"], button[type="submit"]');
  var submitLabel = submitButton ? submitButton.value || submitButton.textContent : "";
  var additionTarget = null; // the fact being completed ("Déjà signalé ?"), if any
  var ACCEPTED_TYPES = ["image/jpeg", "image/png", "image/webp"];
  // API field -> form control id (position problems are shown next to the map).
  var FIELD_IDS = {
    category_id: "category",
    residence_id: "residence",
    batiment_id: "batiment",
    longitude: "latitude",
    gps_accuracy_m: "latitude",
    location_source: "latitude",
    photo: "photos",
    comment: "description",
  };

  // "2026-11-21T14:30" (as the form holds it) -> "21/11/2026 14:30".
  function frenchDateTime(value) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}:\d{2})/.exec(value || "");
    return m ? m[3] + "/" + m[2] + "/" + m[1] + " " + m[4] : value || "";
  }

  function parisNow() {
    var parts = {};
    new Intl.DateTimeFormat("fr-FR", {
      timeZone: "Europe/Paris",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    })
      .formatToParts(new Date())
      .forEach(function (part) {
        parts[part.type] = part.value;
      });
    return parts.year + "-" + parts.month + "-" + parts.day + "T" + parts.hour + ":" + parts.minute;
  }

  // A copy of the form served by the service worker carries the UUID and the time of
  // the day it was cached: each fact gets its own UUID, and "now" is now.
  function freshIdentity() {
    var uuidInput = $("client_uuid");
    if (offline && uuidInput) {
      uuidInput.value = offline.newUuid();
    }
    var when = $("occurred_at");
    if (when) {
      when.value = parisNow();
    }
  }

  function showNotice(text, kind, link) {
    if (!notice) {
      return;
    }
    notice.textContent = "";
    var p = document.createElement("p");
    p.className = "flash flash-" + (kind || "info");
    p.setAttribute("role", kind === "error" ? "alert" : "status");
    p.textContent = text;
    if (link) {
      p.appendChild(document.createTextNode(" "));
      var a = document.createElement("a");
      a.href = link.href;
      a.textContent = link.text;
      p.appendChild(a);
    }
    notice.appendChild(p);
    // The outbox (what waits) and the notice sit at the top of the page.
    window.scrollTo(0, 0);
  }

  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-client-error]"), function (node) {
      node.remove();
    });
    Array.prototype.forEach.call(form.querySelectorAll(".has-error"), function (node) {
      node.classList.remove("has-error");
    });
    var summary = document.querySelector(".error-summary");
    if (summary) {
      summary.remove();
    }
  }

  function showErrors(errors) {
    clearErrors();
    var general = [];
    var first = null;
    Object.keys(errors || {}).forEach(function (name) {
      var messages = errors[name];
      var control = $(FIELD_IDS[name] || name);
      var block = control ? control.closest(".field, fieldset") : null;
      if (name === "latitude" || FIELD_IDS[name] === "latitude") {
        block = form.querySelector("fieldset.position");
      }
      if (name === "gravity") {
        block = form.querySelector("fieldset.gravity");
      }
      if (!block) {
        general = general.concat(messages);
        return;
      }
      if (name === "confirm_position" && confirmBlock) {
        confirmBlock.classList.remove("is-hidden");
      }
      block.classList.add("has-error");
      var list = document.createElement("ul");
      list.className = "errors";
      list.setAttribute("data-client-error", "");
      messages.forEach(function (message) {
        var li = document.createElement("li");
        li.textContent = message;
        list.appendChild(li);
      });
      block.appendChild(list);
      first = first || block;
    });
    var summary = document.createElement("div");
    summary.className = "error-summary";
    summary.setAttribute("role", "alert");
    var p = document.createElement("p");
    p.innerHTML = "<strong></strong> ";
    p.firstChild.textContent = "Le signalement n'est pas enregistré.";
    p.appendChild(
      document.createTextNode("Corrigez les champs signalés en rouge, puis renvoyez-le.")
    );
    summary.appendChild(p);
    general.forEach(function (message) {
      var q = document.createElement("p");
      q.textContent = message;
      summary.appendChild(q);
    });
    form.parentNode.insertBefore(summary, form);
    var target = first ? first.querySelector("input:not([type=hidden]), select, textarea") : null;
    if (target) {
      target.focus({ preventScroll: true });
      first.scrollIntoView({ block: "center" });
    } else {
      summary.scrollIntoView({ block: "start" });
    }
  }

  function value(id) {
    var node = $(id);
    return node ? node.value.trim() : "";
  }

  // A number as typed, or the text itself so that the server names the field.
  function numberOrText(id) {
    var raw = value(id);
    if (raw === "") {
      return null;
    }
    var n = Number(raw.replace(",", "."));
    return isFinite(n) ? n : raw;
  }

  function selectedText(id) {
    var node = $(id);
    if (!node || node.selectedIndex < 0 || !node.value) {
      return "";
    }
    return node.options[node.selectedIndex].textContent.trim();
  }

  function buildPayload() {
    var gravity = form.querySelector('input[name="gravity"]:checked');
    var lat = currentPosition();
    return {
      uuid: value("client_uuid"),
      category_id: numberOrText("category"),
      residence_id: numberOrText("residence"),
      batiment_id: numberOrText("batiment"),
      occurred_at: value("occurred_at") || null,
      latitude: lat ? lat.lat : null,
      longitude: lat ? lat.lon : null,
      gps_accuracy_m: lat ? numberOrText("gps_accuracy_m") : null,
      location_source: lat ? value("location_source") || null : null,
      confirm_position: Boolean(inputs.confirm && inputs.confirm.checked),
      lieu: value("lieu") || null,
      victime: value("victime") || null,
      arret_travail_jours: numberOrText("arret_travail_jours"),
      mission_service_public: Boolean($("mission_service_public") && $("mission_service_public").checked),
      suite: value("suite") || null,
      intervention: value("intervention") || null,
      damage_cost_eur: numberOrText("damage_cost_eur"),
      gravity: gravity ? Number(gravity.value) : null,
      description: inputs.description ? inputs.description.value.trim() : "",
    };
  }

  // The same checks as the server's for what must be there, so that a fact filed
  // without network is not found incomplete hours later.
  function missingFields(payload) {
    var errors = {};
    if (!payload.category_id) {
      errors.category_id = ["Choisissez une catégorie."];
    }
    if (!payload.residence_id) {
      errors.residence_id = ["Choisissez une résidence."];
    }
    if (!payload.occurred_at) {
      errors.occurred_at = ["Indiquez la date et l'heure du fait."];
    }
    var checkbox = confirmBlock && !confirmBlock.classList.contains("is-hidden");
    if (checkbox && !payload.confirm_position) {
      errors.confirm_position = [
        "La position est loin de la résidence choisie : confirmez-la ou choisissez la bonne résidence.",
      ];
    }
    return errors;
  }

  /* A phone photo weighs 3 to 12 MB: it is resized here before it is kept or sent
     (longest side LIMITS.photoMaxSide, JPEG, turned upright as its EXIF orientation
     says), as field tools such as ODK do. Drawing it on a canvas also leaves its
     metadata (GPS position, device) on the phone. The server checks and re-encodes
     whatever it receives, so a photo this browser cannot decode is sent as it is. */
  var PHOTO_QUALITY = 0.85;
  var preparing = null; // {files, promise}: the preparation of the current choice

  function jpegName(name) {
    return (String(name || "").replace(/\.[^.]*$/, "") || "photo") + ".jpg";
  }

  function sizeText(bytes) {
    if (bytes < 1048576) {
      return Math.max(1, Math.round(bytes / 1024)) + NBSP + "Ko";
    }
    return (bytes / 1048576).toFixed(1).replace(".", ",") + NBSP + "Mo";
  }

  function resizePhoto(file) {
    var maxSide = LIMITS.photoMaxSide;
    if (typeof window.createImageBitmap !== "function" || !maxSide) {
      return Promise.reject(new Error("redimensionnement indisponible"));
    }
    return window.createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      var context = canvas.getContext("2d");
      context.fillStyle = "#ffffff"; // a transparent PNG on white, as on the server
      context.fillRect(0, 0, canvas.width, canvas.height);
      context.imageSmoothingEnabled = true;
      context.imageSmoothingQuality = "high";
      context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      if (bitmap.close) {
        bitmap.close();
      }
      return new Promise(function (resolve, reject) {
        canvas.toBlob(
          function (blob) {
            var drawn = { blob: blob, width: canvas.width, height: canvas.height };
            canvas.width = 0; // frees the pixels now: small phones run out of memory
            canvas.height = 0;
            if (blob) {
              resolve(drawn);
            } else {
              reject(new Error("JPEG impossible"));
            }
          },
          "image/jpeg",
          PHOTO_QUALITY
        );
      });
    });
  }

  function preparePhoto(file) {
    return resizePhoto(file).then(
      function (drawn) {
        return {
          file: file, blob: drawn.blob, name: jpegName(file.name), type: "image/jpeg",
          size: drawn.blob.size, width: drawn.width, height: drawn.height, resized: true,
        };
      },
      function () {
        return { file: file, blob: file, name: file.name, type: file.type, size: file.size, resized: false };
      }
    );
  }

  function chosenFiles() {
    return photosInput && photosInput.files ? Array.prototype.slice.call(photosInput.files) : [];
  }

  // The chosen photos, resized one after the other (three 12-megapixel images decoded
  // at once would not fit a small phone's memory): {photos, problems}.
  function preparedPhotos() {
    var files = chosenFiles();
    var same = preparing && preparing.files.length === files.length &&
      preparing.files.every(function (file, i) {
        return file === files[i];
      });
    if (same) {
      return preparing.promise;
    }
    var max = LIMITS.photosMax;
    var maxBytes = (offlineConfig && offlineConfig.photoMaxBytes) || 10485760;
    var photos = [];
    var chain = Promise.resolve();
    if (files.length <= max) {
      files.forEach(function (file) {
        chain = chain.then(function () {
          return preparePhoto(file).then(function (photo) {
            photos.push(photo);
          });
        });
      });
    }
    var promise = chain.then(function () {
      var problems = [];
      if (files.length > max) {
        problems.push(max + " photos au plus par signalement.");
      }
      photos.forEach(function (photo) {
        if (!photo.resized && ACCEPTED_TYPES.indexOf(photo.type) === -1) {
          problems.push("« " + photo.name + " » n'est pas une photo JPEG, PNG ou WebP.");
        } else if (photo.size > maxBytes) {
          problems.push(
            "« " + photo.name + " » dépasse " + Math.round(maxBytes / 1048576) + " Mo : choisissez une photo plus légère."
          );
        }
      });
      return { photos: photos, problems: problems };
    });
    preparing = { files: files, promise: promise };
    return promise;
  }

  function renderChosenPhotos() {
    if (!photosList) {
      return;
    }
    photosList.textContent = "";
    chosenFiles().forEach(function (file) {
      var li = document.createElement("li");
      li.textContent = file.name + " (" + sizeText(file.size) + ") : préparation…";
      photosList.appendChild(li);
    });
    var promise = preparedPhotos();
    promise.then(function (chosen) {
      if (!preparing || preparing.promise !== promise) {
        return; // another choice since
      }
      photosList.textContent = "";
      chosen.photos.forEach(function (photo) {
        var li = document.createElement("li");
        li.textContent = photo.resized
          ? photo.name + " : " + photo.width + NBSP + "×" + NBSP + photo.height + " pixels, " +
            sizeText(photo.size) + " (au lieu de " + sizeText(photo.file.size) + ")"
          : photo.name + " (" + sizeText(photo.size) + ")";
        photosList.appendChild(li);
      });
      if (chosen.problems.length) {
        showErrors({ photos: chosen.problems });
      }
    });
  }

  function setBusy(busy, label) {
    if (!submitButton) {
      return;
    }
    submitButton.disabled = busy;
    if (busy) {
      submitButton.setAttribute("aria-busy", "true");
    } else {
      submitButton.removeAttribute("aria-busy");
    }
    var text = label || (additionTarget ? "Compléter ce fait" : submitLabel);
    if (submitButton.tagName === "INPUT") {
      submitButton.value = text;
    } else {
      submitButton.textContent = text;
    }
  }

  // The place of the fact: the résidence, bâtiment and position (hidden inputs).
  var PLACE_IDS = ["residence", "batiment", "latitude", "longitude", "gps_accuracy_m", "location_source"];

  function keepPlace() {
    var place = {};
    PLACE_IDS.forEach(function (id) {
      if ($(id)) {
        place[id] = $(id).value;
      }
    });
    place.confirm = Boolean(inputs.confirm && inputs.confirm.checked);
    return place;
  }

  function restorePlace(place) {
    PLACE_IDS.forEach(function (id) {
      if ($(id) && place[id] !== undefined) {
        $(id).value = place[id];
      }
    });
    if (inputs.confirm) {
      inputs.confirm.checked = place.confirm;
    }
  }

  // Ready for the next fact. form.reset() alone put the résidence select back on its
  // « choisissez » placeholder while the position (hidden inputs keep their value), the
  // pin and the hint « Présélectionnée … » stayed: the next fact, filed from the same
  // cellar, was refused « Choisissez une résidence ». The gardien files the next fact
  // from the same place: the place is kept, everything else starts afresh.
  function resetForNext() {
    leaveAddition();
    var place = keepPlace();
    form.reset();
    restorePlace(place);
    clearErrors();
    freshIdentity();
    if (photosList) {
      photosList.textContent = "";
    }
    toggleStaffDetails();
    if (inputs.description) {
      inputs.description.dispatchEvent(new Event("input"));
    }
    hideNearby();
    highlightResidence();
    filterBatiments();
    checkDistance(false);
  }

  function buildItem(payload, prepared, target) {
    var photos = prepared.map(function (photo) {
      return { uuid: offline.newUuid(), blob: photo.blob, name: photo.name, type: photo.type, size: photo.size };
    });
    var summary = {
      category: selectedText("category"),
      residence: selectedText("residence"),
      when: frenchDateTime(payload.occurred_at),
      latitude: payload.latitude,
      longitude: payload.longitude,
      categoryId: payload.category_id,
    };
    if (target) {
      var uuid = offline.newUuid();
      return {
        uuid: uuid,
        kind: "addition",
        target: target.uuid,
        targetReference: target.reference,
        payload: { uuid: uuid, comment: payload.description.slice(0, LIMITS.commentMaxLength) },
        photos: photos,
        summary: summary,
      };
    }
    return { uuid: payload.uuid, kind: "report", payload: payload, photos: photos, summary: summary };
  }

  // Kept on the phone, then sent: the fact first, then its photos one by one (their
  // progress is shown by showProgress). The form is read when « Envoyer » is pressed.
  function submitThroughQueue() {
    var payload = buildPayload();
    var target = additionTarget;
    var errors = target ? {} : missingFields(payload);
    if (Object.keys(errors).length) {
      showErrors(errors);
      return Promise.resolve();
    }
    clearErrors();
    hideNearby(); // nor is a check on its way shown: this fact is in flight
    nearbyRequest += 1;
    if (chosenFiles().length) {
      setBusy(true, "Préparation des photos…");
    }
    return preparedPhotos().then(function (chosen) {
      if (chosen.problems.length) {
        showErrors({ photos: chosen.problems });
        setBusy(false);
        return null;
      }
      var item = buildItem(payload, chosen.photos, target);
      setBusy(true, navigator.onLine ? "Envoi…" : "Enregistrement…");
      return offline.submit(item).then(
        function (result) {
          afterSubmit(item, result, target);
        },
        function () {
          setBusy(false);
          showNotice(
            "Ce téléphone n'a pas pu garder le signalement (stockage indisponible) : envoi direct.",
            "error"
          );
          putPhotos(chosen.photos); // the resized ones, not the originals
          HTMLFormElement.prototype.submit.call(form);
        }
      );
    });
  }

  function afterSubmit(item, result, target) {
    var stored = result.item || item;
    if (result.outcome === "sent") {
      if (item.kind === "report") {
        window.location.assign(
          offlineConfig.urls.confirmation.replace(offlineConfig.uuidSlot, item.uuid)
        );
        return;
      }
      resetForNext();
      showNotice("Complément ajouté au fait " + (target ? target.reference : "") + ". Merci.", "success");
    } else if (result.outcome === "queued" && stored.accepted) {
      resetForNext();
      showNotice(
        "Signalement " + (stored.reference || "") + " enregistré. Le réseau a manqué pour ses photos : " +
          "elles sont gardées sur ce téléphone et partiront toutes seules. Vous pouvez en saisir un autre.",
        "info"
      );
    } else if (result.outcome === "queued") {
      resetForNext();
      showNotice(
        "Pas de réseau : le signalement est gardé sur ce téléphone. Il partira tout seul au retour du réseau ; vous pouvez en saisir un autre.",
        "info"
      );
    } else if (result.outcome === "login") {
      resetForNext();
      showNotice(
        "Votre session a expiré : le signalement est gardé sur ce téléphone. Reconnectez-vous pour l'envoyer.",
        "error",
        { href: offlineConfig.urls.login, text: "Se reconnecter" }
      );
    } else {
      showErrors(stored.errors || {});
    }
    setBusy(false);
  }

  /* Photos on their way: a bar and a sentence, for this form's fact and for the facts
     of the outbox the queue sends. The sentence changes per photo and per quarter, so
     that a screen reader is told without being flooded. */
  var progressBox = $("send-progress");
  var progressSaid = "";

  function showProgress(event) {
    if (!progressBox) {
      return;
    }
    if (event.finished) {
      progressBox.classList.add("is-hidden");
      progressSaid = "";
      return;
    }
    var fraction = event.total ? event.loaded / event.total : 0;
    var overall = Math.round(((event.index - 1 + fraction) / event.count) * 100);
    var bar = $("send-progress-bar");
    bar.value = overall;
    bar.setAttribute("aria-valuetext", overall + " %");
    var said =
      (event.reference ? "Signalement " + event.reference + " enregistré. " : "") +
      "Envoi de la photo " + event.index + " sur " + event.count + " : " +
      Math.floor(fraction * 4) * 25 + NBSP + "%";
    if (said !== progressSaid) {
      progressSaid = said;
      $("send-progress-text").textContent = said;
    }
    progressBox.classList.remove("is-hidden");
    if (event.uuid === value("client_uuid")) {
      setBusy(true, "Envoi des photos…"); // this form's fact is stored
    }
  }

  // Put photos ({blob, name, type}) into the file input; false if none or impossible.
  function putPhotos(photos) {
    var blobs = photos.filter(function (photo) {
      return photo.blob;
    });
    if (!photosInput || !blobs.length || typeof DataTransfer === "undefined") {
      return false;
    }
    var transfer = new DataTransfer();
    blobs.forEach(function (photo) {
      transfer.items.add(new File([photo.blob], photo.name || "photo.jpg", { type: photo.type }));
    });
    photosInput.files = transfer.files;
    return true;
  }

  // "Corriger": put a refused item back into the form.
  function loadItem(item) {
    leaveAddition();
    form.reset();
    var p = item.payload || {};
    var set = function (id, v) {
      var node = $(id);
      if (node && v !== null && v !== undefined) {
        node.value = String(v);
      }
    };
    if (item.kind === "addition") {
      enterAddition({ uuid: item.target, reference: item.targetReference });
      set("description", p.comment);
    } else {
      set("client_uuid", item.uuid);
      set("category", p.category_id);
      // A résidence found by a search is not among the page's options.
      ensureOption(inputs.residence, p.residence_id, (item.summary || {}).residence);
      set("residence", p.residence_id);
      set("batiment", p.batiment_id);
      set("occurred_at", p.occurred_at);
      set("lieu", p.lieu);
      set("victime", p.victime);
      set("arret_travail_jours", p.arret_travail_jours);
      set("suite", p.suite);
      set("intervention", p.intervention);
      set("damage_cost_eur", p.damage_cost_eur);
      set("description", p.description);
      if ($("mission_service_public")) {
        $("mission_service_public").checked = Boolean(p.mission_service_public);
      }
      if (inputs.confirm) {
        inputs.confirm.checked = Boolean(p.confirm_position);
      }
      var gravity = form.querySelector('input[name="gravity"][value="' + p.gravity + '"]');
      if (gravity) {
        gravity.checked = true;
      }
      if (p.latitude !== null && p.longitude !== null && p.latitude !== undefined) {
        writePosition({ lat: p.latitude, lon: p.longitude }, p.location_source || "map", p.gps_accuracy_m);
        placePin({ lat: p.latitude, lon: p.longitude });
      }
      residenceTouched = true;
    }
    if (putPhotos(item.photos || [])) {
      renderChosenPhotos();
    }
    toggleStaffDetails();
    highlightResidence();
    filterBatiments();
    checkDistance(false);
    if (inputs.description) {
      inputs.description.dispatchEvent(new Event("input"));
    }
    showErrors(item.errors || {});
  }

  /* ------------------------------------------------------ "Déjà signalé ?" */

  var nearbyBox = $("nearby");
  var nearbyTimer = null;
  var nearbyRequest = 0;
  var NEARBY_RADIUS_M = 50;
  var NEARBY_MS = 24 * 3600 * 1000;

  function hideNearby() {
    if (nearbyBox) {
      nearbyBox.classList.add("is-hidden");
      nearbyBox.querySelector("ul").textContent = "";
    }
  }

  function positionForNearby() {
    var position = currentPosition();
    if (position) {
      return position;
    }
    var residence = chosenResidence();
    return residence ? { lat: residence.lat, lon: residence.lon } : null;
  }

  function scheduleNearby() {
    if (!nearbyBox || !offlineConfig) {
      return;
    }
    clearTimeout(nearbyTimer);
    nearbyTimer = setTimeout(checkNearby, 600);
  }

  function checkNearby() {
    var category = $("category") ? $("category").value : "";
    var position = positionForNearby();
    if (!category || !position || additionTarget) {
      hideNearby();
      return;
    }
    var ticket = ++nearbyRequest;
    var remote = navigator.onLine
      ? fetch(
          offlineConfig.urls.nearby +
            "?category_id=" + encodeURIComponent(category) +
            "&latitude=" + position.lat.toFixed(6) +
            "&longitude=" + position.lon.toFixed(6),
          { credentials: "same-origin", headers: { Accept: "application/json" } }
        )
          .then(function (response) {
            return response.ok ? response.json() : { items: [] };
          })
          .then(function (body) {
            return body.items || [];
          })
          .catch(function () {
            return [];
          })
      : Promise.resolve([]);
    Promise.all([offline.list(), remote]).then(function (found) {
      if (ticket !== nearbyRequest) {
        return; // a newer check is on its way, or the fact was sent meanwhile
      }
      // Never the fact in flight (this form's, or one whose photos are on their way)
      // as a duplicate of itself; a fact of the outbox is listed once, as waiting.
      var current = value("client_uuid");
      var outbox = {};
      found[0].forEach(function (item) {
        outbox[item.uuid] = true;
      });
      var inFlight = function (uuid) {
        return uuid === current || offline.isInFlight(uuid);
      };
      var now = Date.now();
      var queued = found[0]
        .filter(function (item) {
          var s = item.summary || {};
          return (
            item.kind === "report" &&
            !item.accepted &&
            !inFlight(item.uuid) &&
            String(s.categoryId) === category &&
            typeof s.latitude === "number" &&
            now - Date.parse(item.createdAt) < NEARBY_MS &&
            haversineM(position.lat, position.lon, s.latitude, s.longitude) <= NEARBY_RADIUS_M
          );
        })
        .map(function (item) {
          return { queued: true, summary: item.summary };
        });
      var facts = found[1].filter(function (fact) {
        return !inFlight(fact.uuid) && !outbox[fact.uuid];
      });
      renderNearby(facts, queued);
    });
  }

  // "aujourd'hui 14:05", "hier 23:40", else "21/11 14:05" (Paris time).
  function formatWhen(iso) {
    var date = new Date(iso);
    var dayOf = function (d) {
      return new Intl.DateTimeFormat("fr-FR", { timeZone: "Europe/Paris", dateStyle: "short" }).format(d);
    };
    var time = new Intl.DateTimeFormat("fr-FR", {
      timeZone: "Europe/Paris",
      hour: "2-digit",
      minute: "2-digit",
    }).format(date);
    var now = new Date();
    if (dayOf(date) === dayOf(now)) {
      return "aujourd'hui " + time;
    }
    if (dayOf(date) === dayOf(new Date(now.getTime() - 86400000))) {
      return "hier " + time;
    }
    return dayOf(date).slice(0, 5) + " " + time;
  }

  function renderNearby(facts, queued) {
    if (!facts.length && !queued.length) {
      hideNearby();
      return;
    }
    var list = nearbyBox.querySelector("ul");
    list.textContent = "";
    facts.forEach(function (fact) {
      var li = document.createElement("li");
      li.className = "nearby-item";
      var what = document.createElement("p");
      var ref = document.createElement("strong");
      ref.className = "reference";
      ref.textContent = fact.reference;
      what.appendChild(ref);
      var parts = [fact.residence, formatWhen(fact.occurred_at), "à " + Math.round(fact.distance_m) + "\u00a0m"];
      if (fact.lieu_label) {
        parts.push(fact.lieu_label);
      }
      if (fact.mine) {
        parts.push("signalé par vous");
      }
      what.appendChild(document.createTextNode(" · " + parts.join(" · ")));
      li.appendChild(what);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = "C'est le même : le compléter";
      button.addEventListener("click", function () {
        enterAddition(fact);
      });
      li.appendChild(button);
      list.appendChild(li);
    });
    queued.forEach(function (entry) {
      var li = document.createElement("li");
      li.className = "nearby-item is-queued";
      li.textContent =
        "En attente sur ce téléphone : " + (entry.summary.category || "") + " · " + (entry.summary.when || "");
      list.appendChild(li);
    });
    nearbyBox.classList.remove("is-hidden");
  }

  function enterAddition(fact) {
    additionTarget = fact;
    form.classList.add("is-addition");
    var banner = $("addition-banner");
    if (banner) {
      $("addition-reference").textContent = fact.reference;
      banner.classList.remove("is-hidden");
      banner.scrollIntoView({ block: "start" });
    }
    hideNearby();
    setBusy(false);
  }

  function leaveAddition() {
    if (!additionTarget) {
      return;
    }
    additionTarget = null;
    form.classList.remove("is-addition");
    var banner = $("addition-banner");
    if (banner) {
      banner.classList.add("is-hidden");
    }
    setBusy(false);
  }

  function initOffline() {
    if (!offline || !offlineConfig) {
      return false;
    }
    if (!resubmitted) {
      freshIdentity();
    }
    if (photosInput) {
      photosInput.addEventListener("change", renderChosenPhotos);
    }
    var category = $("category");
    if (category) {
      category.addEventListener("change", scheduleNearby);
    }
    if (inputs.residence) {
      inputs.residence.addEventListener("change", scheduleNearby);
    }
    var cancel = $("addition-cancel");
    if (cancel) {
      cancel.addEventListener("click", function () {
        leaveAddition();
        scheduleNearby();
      });
    }
    offline.onProgress(showProgress);
    window.orfiReportForm = { load: loadItem };
    return true;
  }

  /* ---------------------------------------------------------------- start */

  function start() {
    initMap();
    initSearch();
    if (inputs.residence) {
      inputs.residence.addEventListener("change", function () {
        residenceTouched = true;
        onResidenceChanged();
      });
    }
    if (inputs.victime) {
      inputs.victime.addEventListener("change", toggleStaffDetails);
      toggleStaffDetails();
    }
    initCounter();
    initGravityChips();
    initSubmit(initOffline());
    highlightResidence();
    filterBatiments();

    var known = currentPosition();
    if (known) {
      // The page came back with errors: keep the position the user sent.
      var accuracy = parseFloat(inputs.accuracy.value);
      placePin(known);
      focusOnPosition(known, isNaN(accuracy) ? null : accuracy);
      if (inputs.source.value === "gps" && !isNaN(accuracy)) {
        setStatus("Position GPS à ±" + NBSP + Math.round(accuracy) + NBSP + "m", "ok");
      } else {
        setStatus("Position placée sur la carte.", "ok");
      }
      checkDistance(true);
    } else if (inputs.latitude && inputs.longitude) {
      startWatching();
    }

    var firstError = form.querySelector(".has-error input, .has-error select, .has-error textarea");
    if (firstError) {
      firstError.focus({ preventScroll: true });
      firstError.closest(".field, fieldset").scrollIntoView({ block: "center" });
    }
  }

  start();
})();
