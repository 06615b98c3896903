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
      var circle = L.circleMarker([r.lat, r.lon], residenceStyle(false))
        .bindTooltip(r.name, {
          permanent: permanentLabels,
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
    });
    fitToSector();

    map.on("click", function (event) {
      setPositionFromMap(event.latlng);
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
    highlightResidence();
    filterBatiments();
    checkDistance(false);
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

  function initSubmit() {
    var submitting = false;
    var buttons = form.querySelectorAll('button[type="submit"], input[type="submit"]');
    var labels = [];
    form.addEventListener("submit", function (event) {
      if (submitting) {
        event.preventDefault();
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

  /* ---------------------------------------------------------------- start */

  function start() {
    initMap();
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
    initSubmit();
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
