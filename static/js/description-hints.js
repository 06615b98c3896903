/* Warns, as one types, that a free text seems to hold personal data (a name, a phone
 * number, an e-mail address, a licence plate). It warns, the user decides: it never
 * blocks the form.
 *
 * The rules are those of the server (orfi/privacy/hints.json, read by
 * orfi/privacy/heuristics.py); the page passes them in
 * <script type="application/json" id="description-hints">. A field opts in with
 * data-personal-data-hints="<id of its aria-live region>". No inline script (CSP).
 * Also loadable by node (module.exports) for the test that keeps both sides in step.
 */
(function (root) {
  "use strict";

  var KINDS = ["name", "phone", "email", "plate"];
  var WORD = /[A-Za-zÀ-ÖØ-öø-ÿŒœ'’\-]+/g;
  var DEBOUNCE_MS = 400;

  function compile(hints) {
    if (hints._compiled) {
      return hints._compiled;
    }
    var compiled = {
      rules: hints.rules.map(function (rule) {
        return {
          kind: rule.kind,
          // "d": start and end of each group (Python's match.start(n), match.end(n)).
          pattern: new RegExp(rule.pattern, "gd"),
          nameGroup: rule.name_group === undefined ? null : rule.name_group,
          firstNameGroup: rule.first_name_group === undefined ? null : rule.first_name_group,
          skipAfterPlace: Boolean(rule.skip_after_place),
        };
      }),
      placeWords: new Set(hints.place_words),
      knownPlaces: new Set(hints.known_places),
      notNames: new Set(hints.not_names),
      firstNames: new Set(hints.first_names),
    };
    Object.defineProperty(hints, "_compiled", { value: compiled, enumerable: false });
    return compiled;
  }

  function followsPlace(text, start, hints, compiled) {
    var before = text.slice(0, start);
    var cut = -1;
    hints.clause_breaks.split("").forEach(function (mark) {
      cut = Math.max(cut, before.lastIndexOf(mark));
    });
    var words = before.slice(cut + 1).match(WORD) || [];
    return words.slice(-3).some(function (word) {
      return compiled.placeWords.has(word.toLowerCase());
    });
  }

  function accepted(match, rule, text, hints, compiled) {
    if (rule.nameGroup !== null) {
      if (compiled.notNames.has(match[rule.nameGroup].toLowerCase())) {
        return false;
      }
    }
    if (rule.firstNameGroup !== null) {
      var first = match[rule.firstNameGroup];
      if (!compiled.firstNames.has(first.split("-")[0].toLowerCase())) {
        return false;
      }
      if (rule.nameGroup !== null) {
        var pair = (first + " " + match[rule.nameGroup]).toLowerCase();
        if (compiled.knownPlaces.has(pair)) {
          return false;
        }
      }
    }
    if (rule.skipAfterPlace && followsPlace(text, match.index, hints, compiled)) {
      return false;
    }
    return true;
  }

  /* Return what in ``text`` looks like personal data: [{kind, text, start, end}]. */
  function findPersonalData(text, hints) {
    if (!text) {
      return [];
    }
    var compiled = compile(hints);
    var candidates = [];
    compiled.rules.forEach(function (rule) {
      rule.pattern.lastIndex = 0;
      var match;
      while ((match = rule.pattern.exec(text)) !== null) {
        if (match[0] === "") {
          rule.pattern.lastIndex += 1; // never loop on an empty match
        }
        if (!accepted(match, rule, text, hints, compiled)) {
          continue;
        }
        var start = match.index;
        var end = start + match[0].length;
        if (rule.nameGroup !== null && match.indices[rule.nameGroup]) {
          end = Math.max(end, match.indices[rule.nameGroup][1]);
        }
        candidates.push({ kind: rule.kind, text: text.slice(start, end), start: start, end: end });
      }
    });
    candidates.sort(function (a, b) {
      return a.start - b.start || b.end - a.end;
    });
    var findings = [];
    candidates.forEach(function (candidate) {
      if (findings.length && candidate.start < findings[findings.length - 1].end) {
        return;
      }
      findings.push(candidate);
    });
    return findings;
  }

  /* The French warning for these findings ("" when there are none). */
  function describeFindings(findings, hints) {
    if (!findings.length) {
      return "";
    }
    var kinds = KINDS.filter(function (kind) {
      return findings.some(function (f) {
        return f.kind === kind;
      });
    });
    var labels = kinds.map(function (kind) {
      return hints.labels[kind];
    });
    var items = labels[0];
    if (labels.length > 1) {
      items = labels.slice(0, -1).join(", ") + hints.message.and + labels[labels.length - 1];
    }
    var pronoun = hints.pronouns[findings.length > 1 ? "many" : findings[0].kind];
    return hints.message.text.replace("{items}", items).replace("{pronoun}", pronoun);
  }

  var api = { findPersonalData: findPersonalData, describeFindings: describeFindings };

  /* ------------------------------------------------------------------ page */

  function show(region, findings, hints) {
    region.textContent = "";
    if (!findings.length) {
      return;
    }
    var box = document.createElement("p");
    box.className = "warning privacy-warning";
    box.appendChild(document.createTextNode(describeFindings(findings, hints)));
    box.appendChild(document.createElement("br"));
    var found = document.createElement("span");
    found.className = "privacy-found";
    found.textContent =
      "Repéré : " +
      findings
        .map(function (f) {
          return "« " + f.text + " »";
        })
        .join(", ") +
      ".";
    box.appendChild(found);
    region.appendChild(box);
  }

  function watch(field, region, hints) {
    var timer = null;
    var last = null;
    function check() {
      var findings = findPersonalData(field.value, hints);
      var key = JSON.stringify(findings);
      if (key !== last) {
        last = key;
        show(region, findings, hints);
      }
    }
    field.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(check, DEBOUNCE_MS);
    });
    check(); // a text kept by the browser or sent back with errors
  }

  function start() {
    var source = document.getElementById("description-hints");
    if (!source) {
      return;
    }
    var hints;
    try {
      hints = JSON.parse(source.textContent);
    } catch (error) {
      return;
    }
    var fields = document.querySelectorAll("[data-personal-data-hints]");
    Array.prototype.forEach.call(fields, function (field) {
      var region = document.getElementById(field.getAttribute("data-personal-data-hints"));
      if (region) {
        watch(field, region, hints);
      }
    });
    root.orfiDescriptionHints = api;
  }

  if (typeof module === "object" && module.exports) {
    module.exports = api;
  } else if (typeof document !== "undefined") {
    start();
  }
})(this);
