/* The offline queue ("boîte d'envoi") of the field form: nothing lost, nothing twice.
 *
 * Every fact (or complement) filed in the form is first written to IndexedDB, keyed by
 * its client UUID and tagged with the id of the user who filed it, then sent to the
 * JSON API. An item leaves the queue only once the server has confirmed it and each of
 * its photos; the server stores a UUID once, so a resend after a lost answer is
 * harmless. Closing the tab, the phone's battery dying or the network dropping loses
 * nothing: the next page load (or the network coming back) sends what waits.
 *
 * Items belong to one user: only the logged-in user's items are listed and sent, and
 * only after the server has confirmed who is logged in (GET /api/v1/me). At logout the
 * user chooses to keep them locked for their next login or to delete them (see
 * docs/offline.md); the cached copy of the form is deleted either way.
 *
 * The page gives its settings in <script type="application/json" id="offline-config">.
 * Other scripts use window.orfiOffline.
 */
(function () {
  "use strict";

  var DB_NAME = "orfi-offline";
  var DB_VERSION = 1;
  var STORE = "outbox";
  var PAGES_CACHE = "orfi-pages";
  var JSON_TIMEOUT_MS = 20000;
  var PHOTO_TIMEOUT_MS = 120000;
  var RETRY_MS = 30000;

  var configNode = document.getElementById("offline-config");
  var config = null;
  if (configNode) {
    try {
      config = JSON.parse(configNode.textContent);
    } catch (error) {
      config = null;
    }
  }

  /* ------------------------------------------------------------- IndexedDB */

  var dbPromise = null;

  function openDb() {
    if (dbPromise) {
      return dbPromise;
    }
    dbPromise = new Promise(function (resolve, reject) {
      if (!("indexedDB" in window)) {
        reject(new Error("IndexedDB indisponible"));
        return;
      }
      var request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = function () {
        var store = request.result.createObjectStore(STORE, { keyPath: "uuid" });
        store.createIndex("owner", "owner", { unique: false });
      };
      request.onsuccess = function () {
        resolve(request.result);
      };
      request.onerror = function () {
        reject(request.error);
      };
      request.onblocked = function () {
        reject(new Error("IndexedDB bloquée"));
      };
    });
    return dbPromise;
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var store = transaction.objectStore(STORE);
        var result;
        var request = work(store);
        if (request) {
          request.onsuccess = function () {
            result = request.result;
          };
        }
        transaction.oncomplete = function () {
          resolve(result);
        };
        transaction.onerror = function () {
          reject(transaction.error);
        };
        transaction.onabort = function () {
          reject(transaction.error || new Error("transaction interrompue"));
        };
      });
    });
  }

  function putItem(item) {
    return withStore("readwrite", function (store) {
      return store.put(item);
    });
  }

  function deleteItem(uuid) {
    return withStore("readwrite", function (store) {
      return store.delete(uuid);
    });
  }

  function getItem(uuid) {
    return withStore("readonly", function (store) {
      return store.get(uuid);
    });
  }

  function itemsOf(owner) {
    return withStore("readonly", function (store) {
      return store.index("owner").getAll(owner);
    }).then(function (items) {
      return (items || []).sort(function (a, b) {
        return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0;
      });
    });
  }

  /* ---------------------------------------------------------------- helpers */

  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return (b + 0x100).toString(16).slice(1);
      })
      .join("");
    return (
      hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20)
    );
  }

  function urlFor(name, uuid) {
    var url = config.urls[name];
    return uuid ? url.replace(config.uuidSlot, uuid) : url;
  }

  // fetch with a deadline; resolves with the Response, rejects on network failure.
  function send(url, options, timeoutMs) {
    var controller = "AbortController" in window ? new AbortController() : null;
    var timer = null;
    if (controller) {
      options.signal = controller.signal;
      timer = setTimeout(function () {
        controller.abort();
      }, timeoutMs);
    }
    options.credentials = "same-origin";
    return fetch(url, options).then(
      function (response) {
        clearTimeout(timer);
        return response;
      },
      function (error) {
        clearTimeout(timer);
        throw error;
      }
    );
  }

  function readJson(response) {
    return response.json().catch(function () {
      return {};
    });
  }

  function errorsOf(body, fallback) {
    if (body && body.fields) {
      return body.fields;
    }
    return { _: [(body && (body.description || body.error)) || fallback] };
  }

  /* ------------------------------------------------------------------ state */

  var listeners = [];
  var state = { needLogin: false, lastError: null, syncing: false };
  var csrfToken = null;

  function notify() {
    listeners.forEach(function (listener) {
      try {
        listener(state);
      } catch (error) {
        /* a listener's failure must not stop the queue */
      }
    });
    render();
  }

  /* ---------------------------------------------------------------- sending */

  // Who is logged in, per the server; null without network.
  function whoIsLoggedIn() {
    return send(config.urls.me, { headers: { Accept: "application/json" } }, JSON_TIMEOUT_MS).then(
      function (response) {
        if (response.status === 401) {
          return { loggedOut: true };
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json().then(function (me) {
          csrfToken = me.csrf_token;
          return me;
        });
      }
    );
  }

  function postJson(url, payload) {
    return send(
      url,
      {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken || "",
          "X-Orfi-User": String(config.userId),
        },
        body: JSON.stringify(payload),
      },
      JSON_TIMEOUT_MS
    );
  }

  // XMLHttpRequest, not fetch: only it tells how much of the body has left, for the
  // progress bar. Resolves with a Response as fetch would; rejects on network failure.
  function postPhoto(reportUuid, photo, onProgress) {
    var body = new FormData();
    body.append("uuid", photo.uuid);
    body.append("photo", photo.blob, photo.name || "photo.jpg");
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", urlFor("photos", reportUuid));
      xhr.withCredentials = true;
      xhr.timeout = PHOTO_TIMEOUT_MS;
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", csrfToken || "");
      xhr.setRequestHeader("X-Orfi-User", String(config.userId));
      xhr.upload.onprogress = function (event) {
        onProgress(event.loaded, event.lengthComputable ? event.total : 0);
      };
      xhr.onload = function () {
        if (xhr.status < 200 || xhr.status > 599) {
          reject(new Error("HTTP " + xhr.status));
          return;
        }
        var empty = [204, 205, 304].indexOf(xhr.status) !== -1;
        resolve(
          new Response(empty ? null : xhr.responseText, {
            status: xhr.status,
            headers: { "Content-Type": xhr.getResponseHeader("Content-Type") || "text/plain" },
          })
        );
      };
      xhr.onerror = xhr.ontimeout = xhr.onabort = function () {
        reject(new Error("réseau"));
      };
      xhr.send(body);
    });
  }

  // The items being sent now, by UUID: « Déjà signalé ? » never offers them.
  var inFlight = {};
  var progressListeners = [];

  function tellProgress(event) {
    progressListeners.forEach(function (listener) {
      try {
        listener(event);
      } catch (error) {
        /* a listener's failure must not stop the queue */
      }
    });
  }

  // Send one item: the fact first, then its photos. Resolves with "sent",
  // "rejected", "login" or "network".
  function sendItem(item) {
    inFlight[item.uuid] = true;
    var step = item.accepted ? Promise.resolve(null) : sendMain(item);
    var done = function (outcome) {
      delete inFlight[item.uuid];
      tellProgress({ uuid: item.uuid, finished: true });
      return outcome;
    };
    return step
      .then(function (outcome) {
        return outcome || sendPhotos(item);
      })
      .then(done, function (error) {
        done(null);
        throw error;
      });
  }

  function sendMain(item) {
    var url = item.kind === "addition" ? urlFor("additions", item.target) : urlFor("reports");
    return postJson(url, item.payload).then(
      function (response) {
        return readJson(response).then(function (body) {
          if (response.status === 200 || response.status === 201) {
            item.accepted = true;
            item.reference = item.kind === "addition" ? body.report.reference : body.reference;
            item.reportUuid = item.kind === "addition" ? body.report.uuid : body.uuid;
            item.errors = null;
            return putItem(item).then(function () {
              return null;
            });
          }
          if (response.status === 401) {
            return "login";
          }
          if (response.status === 409 && body.error === "other_user") {
            return "other-user"; // the session changed hands: send nothing
          }
          if (response.status >= 500 || response.status === 429) {
            return "network";
          }
          if (response.status === 400 && /CSRF/i.test(body.description || "")) {
            csrfToken = null; // refreshed by the next round
            return "network";
          }
          item.state = "rejected";
          item.errors = errorsOf(body, "Refusé par le serveur (" + response.status + ").");
          return putItem(item).then(function () {
            return "rejected";
          });
        });
      },
      function () {
        return "network";
      }
    );
  }

  function sendPhotos(item) {
    var all = item.photos || [];
    var waiting = all.filter(function (photo) {
      return !photo.sent && !photo.error;
    });
    var chain = Promise.resolve(null);
    waiting.forEach(function (photo) {
      chain = chain.then(function (outcome) {
        if (outcome) {
          return outcome;
        }
        var progress = function (loaded, total) {
          tellProgress({
            uuid: item.uuid,
            reference: item.reference,
            index: all.indexOf(photo) + 1,
            count: all.length,
            loaded: loaded,
            total: total,
          });
        };
        progress(0, 0);
        return postPhoto(item.reportUuid, photo, progress).then(
          function (response) {
            return readJson(response).then(function (body) {
              if (response.status === 200 || response.status === 201) {
                photo.sent = true;
                photo.blob = null; // the server has it: free the phone's storage
                return putItem(item).then(function () {
                  return null;
                });
              }
              if (response.status === 401) {
                return "login";
              }
              if (response.status === 409 && body.error === "other_user") {
                return "other-user";
              }
              if (response.status >= 500 || response.status === 429) {
                return "network";
              }
              if (response.status === 400 && /CSRF/i.test(body.description || "")) {
                csrfToken = null;
                return "network";
              }
              var errors = errorsOf(body, "Photo refusée (" + response.status + ").");
              photo.error = [].concat.apply([], Object.keys(errors).map(function (k) {
                return errors[k];
              }));
              return putItem(item).then(function () {
                return null;
              });
            });
          },
          function () {
            return "network";
          }
        );
      });
    });
    return chain.then(function (outcome) {
      if (outcome) {
        return outcome;
      }
      var refused = (item.photos || []).filter(function (photo) {
        return photo.error;
      });
      if (refused.length) {
        // The fact is stored; what is left is telling the user about the photo.
        item.state = "rejected";
        item.errors = { photos: refused.map(function (p) {
          return (p.name || "photo") + " : " + p.error.join(" ");
        }) };
        return putItem(item).then(function () {
          return "rejected";
        });
      }
      return deleteItem(item.uuid).then(function () {
        return "sent";
      });
    });
  }

  // Run ``work`` alone across this browser's tabs (one sender at a time).
  function exclusively(work) {
    if (navigator.locks && navigator.locks.request) {
      return navigator.locks.request("orfi-outbox", work);
    }
    return work();
  }

  // Make sure the server says this page's user is logged in (another tab may have
  // logged in someone else since this page was loaded); fetch a CSRF token.
  function checkSession() {
    return whoIsLoggedIn().then(
      function (me) {
        if (me.loggedOut) {
          return "login";
        }
        if (me.id !== config.userId) {
          return "other-user"; // this page is stale: its items are not this session's
        }
        return "ok";
      },
      function () {
        return "network";
      }
    );
  }

  var running = null;

  // Send every pending item of the current user, oldest first.
  function sync() {
    if (!config || !navigator.onLine) {
      return Promise.resolve("offline");
    }
    if (running) {
      return running;
    }
    running = exclusively(function () {
      return itemsOf(config.userId).then(function (items) {
        var pending = items.filter(function (item) {
          return item.state === "pending";
        });
        if (!pending.length) {
          return "empty";
        }
        state.syncing = true;
        notify();
        return checkSession().then(function (session) {
          if (session !== "ok") {
            return session;
          }
          var chain = Promise.resolve("sent");
          pending.forEach(function (item) {
            chain = chain.then(function (outcome) {
              if (outcome === "network" || outcome === "login" || outcome === "other-user") {
                return outcome;
              }
              // Re-read: another tab may have sent it meanwhile.
              return getItem(item.uuid).then(function (fresh) {
                if (!fresh || fresh.state !== "pending") {
                  return "sent";
                }
                return sendItem(fresh).then(function (result) {
                  return result === "rejected" ? "sent" : result;
                });
              });
            });
          });
          return chain;
        });
      });
    })
      .then(function (outcome) {
        state.needLogin = outcome === "login" || outcome === "other-user";
        state.lastError = outcome === "network" ? "network" : null;
        return outcome;
      })
      .catch(function (error) {
        state.lastError = String(error);
        return "network";
      })
      .then(function (outcome) {
        state.syncing = false;
        running = null;
        notify();
        return outcome;
      });
    return running;
  }

  /* ------------------------------------------------------------ public API */

  // Keep an item on the phone, then try to send it now. Resolves with
  // {outcome: "sent" | "queued" | "rejected" | "login", item}.
  function submit(item) {
    item.owner = config.userId;
    item.state = "pending";
    item.createdAt = item.createdAt || new Date().toISOString();
    item.accepted = false;
    item.errors = null;
    return putItem(item).then(function () {
      notify();
      if (!navigator.onLine) {
        return { outcome: "queued", item: item };
      }
      return exclusively(function () {
        return checkSession().then(function (session) {
          if (session !== "ok") {
            return session; // "login", "other-user" or "network"
          }
          return getItem(item.uuid).then(function (fresh) {
            return fresh ? sendItem(fresh) : "sent";
          });
        });
      }).then(function (outcome) {
        state.needLogin = outcome === "login" || outcome === "other-user";
        return getItem(item.uuid).then(function (stored) {
          notify();
          var result = outcome;
          if (outcome === "network") {
            result = "queued";
          } else if (outcome === "other-user") {
            result = "login";
          }
          return { outcome: result, item: stored || item };
        });
      });
    });
  }

  function remove(uuid) {
    return deleteItem(uuid).then(notify);
  }

  function list() {
    return config ? itemsOf(config.userId) : Promise.resolve([]);
  }

  /* -------------------------------------------------------------------- UI */

  var outbox = document.getElementById("outbox");

  function plural(n, one, many) {
    return n + " " + (n > 1 ? many : one);
  }

  function describe(item) {
    var summary = item.summary || {};
    var parts = [];
    if (item.kind === "addition") {
      parts.push("Complément au fait " + (item.targetReference || ""));
    } else {
      parts.push(summary.category || "Signalement");
    }
    if (summary.residence) {
      parts.push(summary.residence);
    }
    if (summary.when) {
      parts.push(summary.when);
    }
    var photos = (item.photos || []).length;
    if (photos) {
      parts.push(plural(photos, "photo", "photos"));
    }
    return parts.join(" · ");
  }

  function render() {
    if (!outbox || !config) {
      return;
    }
    list().then(function (items) {
      var pending = items.filter(function (i) {
        return i.state === "pending";
      });
      var rejected = items.filter(function (i) {
        return i.state === "rejected";
      });
      outbox.classList.toggle("is-hidden", items.length === 0 && navigator.onLine);
      outbox.classList.toggle("is-offline", !navigator.onLine);
      var count = document.getElementById("outbox-count");
      var status = document.getElementById("outbox-status");
      var button = document.getElementById("outbox-send");
      var listNode = document.getElementById("outbox-list");
      count.textContent = pending.length;
      outbox.setAttribute("data-pending", String(pending.length));
      outbox.setAttribute("data-rejected", String(rejected.length));
      document.getElementById("outbox-label").textContent =
        pending.length > 1 ? "signalements en attente d'envoi" : "signalement en attente d'envoi";
      var text;
      if (!navigator.onLine) {
        text = "Hors connexion : ce que vous signalez reste sur ce téléphone et partira tout seul au retour du réseau.";
      } else if (state.needLogin) {
        text = "Votre session a expiré : reconnectez-vous pour envoyer ce qui attend (rien n'est perdu).";
      } else if (state.syncing) {
        text = "Envoi en cours…";
      } else if (pending.length) {
        text = "Réseau faible : nouvel essai automatique dans quelques secondes.";
      } else {
        text = "Tout est envoyé.";
      }
      status.textContent = text;
      var login = document.getElementById("outbox-login");
      login.classList.toggle("is-hidden", !state.needLogin);
      button.classList.toggle("is-hidden", !pending.length || !navigator.onLine || state.needLogin);
      button.disabled = state.syncing;

      listNode.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "outbox-item " + (item.state === "rejected" ? "is-rejected" : "is-pending");
        var title = document.createElement("span");
        title.className = "outbox-what";
        title.textContent = describe(item);
        li.appendChild(title);
        var badge = document.createElement("span");
        badge.className = "outbox-state";
        badge.textContent = item.state === "rejected" ? (item.accepted ? "Photo refusée" : "À corriger") : "En attente";
        li.appendChild(badge);
        if (item.state === "rejected" && item.errors) {
          var errors = document.createElement("ul");
          errors.className = "errors";
          Object.keys(item.errors).forEach(function (field) {
            item.errors[field].forEach(function (message) {
              var e = document.createElement("li");
              e.textContent = message;
              errors.appendChild(e);
            });
          });
          li.appendChild(errors);
          var actions = document.createElement("div");
          actions.className = "outbox-actions";
          if (!item.accepted && item.kind === "report" && window.orfiReportForm) {
            var edit = document.createElement("button");
            edit.type = "button";
            edit.className = "button small";
            edit.textContent = "Corriger";
            edit.addEventListener("click", function () {
              window.orfiReportForm.load(item);
            });
            actions.appendChild(edit);
          }
          var drop = document.createElement("button");
          drop.type = "button";
          drop.className = "button small danger";
          drop.textContent = item.accepted ? "Compris" : "Supprimer";
          drop.addEventListener("click", function () {
            if (item.accepted || window.confirm("Supprimer ce signalement de ce téléphone ? Il n'a pas été enregistré.")) {
              remove(item.uuid);
            }
          });
          actions.appendChild(drop);
          li.appendChild(actions);
        }
        listNode.appendChild(li);
      });
    });
  }

  /* ---------------------------------------------------------------- logout */

  function forgetPages() {
    var jobs = [];
    if ("caches" in window) {
      jobs.push(caches.delete(PAGES_CACHE).catch(function () {}));
    }
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "forget-pages" });
    }
    return Promise.all(jobs);
  }

  function logoutDialog(count, onKeep, onDelete) {
    var dialog = document.createElement("dialog");
    dialog.className = "logout-dialog";
    dialog.setAttribute("aria-labelledby", "logout-dialog-title");
    var title = document.createElement("h2");
    title.id = "logout-dialog-title";
    title.textContent = plural(count, "signalement n'est pas envoyé", "signalements ne sont pas envoyés");
    var text = document.createElement("p");
    text.textContent =
      "Ils sont sur ce téléphone. Gardez-les : ils seront verrouillés (personne d'autre ne les " +
      "verra ni ne les enverra) et partiront à votre prochaine connexion. Ou supprimez-les.";
    dialog.appendChild(title);
    dialog.appendChild(text);
    var buttons = [
      ["Les garder et me déconnecter", "button primary", onKeep],
      ["Les supprimer et me déconnecter", "button danger", onDelete],
      ["Rester connecté", "button", function () {}],
    ];
    buttons.forEach(function (spec) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = spec[1];
      button.textContent = spec[0];
      button.addEventListener("click", function () {
        dialog.close();
        dialog.remove();
        spec[2]();
      });
      dialog.appendChild(button);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
  }

  function interceptLogout(form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) {
        return; // refused without network by static/js/logout.js
      }
      if (form.getAttribute("data-offline-checked") === "1" || !config) {
        return forgetPages(); // best effort; the service worker deletes the copy too
      }
      event.preventDefault();
      var proceed = function () {
        // A form served from the cache may carry an old CSRF token: take a fresh one.
        // No answer (the phone says "online" but the network is gone): the logout
        // cannot happen, and the offline copy of the form is kept.
        var input = form.querySelector('input[name="csrf_token"]');
        whoIsLoggedIn().then(
          function (me) {
            if (input && me.csrf_token) {
              input.value = me.csrf_token;
            }
            form.setAttribute("data-offline-checked", "1");
            forgetPages().then(function () {
              form.submit();
            });
          },
          function () {
            if (window.orfiLogout) {
              window.orfiLogout.refuse();
            }
          }
        );
      };
      sync()
        .then(list)
        .then(
          function (items) {
            if (!items.length) {
              proceed();
              return;
            }
            logoutDialog(
              items.length,
              proceed,
              function () {
                Promise.all(
                  items.map(function (item) {
                    return deleteItem(item.uuid);
                  })
                ).then(proceed);
              }
            );
          },
          proceed
        );
    });
  }

  /* ----------------------------------------------------------------- start */

  function registerServiceWorker() {
    if (!config || !("serviceWorker" in navigator) || !window.isSecureContext) {
      return;
    }
    navigator.serviceWorker
      .register(config.urls.serviceWorker, { scope: "/" })
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(keepFormCopy)
      .catch(function () {
        /* without a service worker the form still works online, and the queue too */
      });
  }

  // The page that registered the worker was not loaded through it: keep a copy now so
  // that the very next visit works without network.
  function keepFormCopy() {
    if (!("caches" in window) || !navigator.onLine) {
      return Promise.resolve();
    }
    var formUrl = config.urls.form;
    return caches.open(PAGES_CACHE).then(function (cache) {
      return cache.match(formUrl).then(function (known) {
        if (known) {
          return null;
        }
        return fetch(formUrl, { credentials: "same-origin" }).then(function (response) {
          if (response.ok && !response.redirected) {
            return cache.put(formUrl, response);
          }
          return null;
        });
      });
    });
  }

  function start() {
    var logoutForm = document.querySelector("form[data-offline-logout]") ||
      document.querySelector('form.logout');
    if (logoutForm) {
      interceptLogout(logoutForm);
    }
    if (!config) {
      return;
    }
    var sendButton = document.getElementById("outbox-send");
    if (sendButton) {
      sendButton.addEventListener("click", function () {
        sync();
      });
    }
    window.addEventListener("online", function () {
      sync();
    });
    window.addEventListener("offline", notify);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        sync();
      }
    });
    setInterval(function () {
      if (document.visibilityState !== "hidden") {
        sync();
      }
    }, RETRY_MS);
    registerServiceWorker();
    openDb().then(
      function () {
        notify();
        sync();
      },
      function () {
        state.lastError = "storage";
      }
    );
  }

  window.orfiOffline = {
    available: function () {
      return openDb().then(
        function () {
          return Boolean(config);
        },
        function () {
          return false;
        }
      );
    },
    submit: submit,
    sync: sync,
    list: list,
    remove: remove,
    newUuid: newUuid,
    isInFlight: function (uuid) {
      return Boolean(inFlight[uuid]);
    },
    onChange: function (listener) {
      listeners.push(listener);
    },
    // listener({uuid, reference, index, count, loaded, total}) while a photo leaves,
    // listener({uuid, finished: true}) once the item's round is over.
    onProgress: function (listener) {
      progressListeners.push(listener);
    },
    config: config,
  };

  start();
})();
