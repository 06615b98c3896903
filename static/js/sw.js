/* orfi's service worker: the field form opens without network.
 *
 * Served at /sw.js by orfi/pwa/routes.py, which replaces the settings line below with
 * the version (a digest of the cached files), the files to keep and a few URLs.
 *
 * - Static files (CSS, JS, Leaflet, icons): kept at install, served from the cache,
 *   refreshed in the background.
 * - The field form (/signalements/nouveau): network first; the last copy is served when
 *   the network fails or is too slow. It holds the user's sector: it is deleted at
 *   logout (and when the server says the session is over).
 * - /api/: never cached, never touched: facts wait in IndexedDB (offline-queue.js), and
 *   only the page decides when to send them.
 * - Other pages: network only, and a short "hors connexion" page without network.
 */
/* eslint-env serviceworker */
"use strict";

var SETTINGS = self.ORFI_SW_SETTINGS || {
  version: "dev",
  precache: [],
  formUrl: "/signalements/nouveau",
  logoutUrl: "/deconnexion",
  staticPrefix: "/static/",
  apiPrefix: "/api/",
};
var STATIC_CACHE = "orfi-static-" + SETTINGS.version;
var PAGES_CACHE = "orfi-pages";
var NETWORK_TIMEOUT_MS = 4000; // in a basement, a late answer is no answer

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(STATIC_CACHE)
      .then(function (cache) {
        return cache.addAll(SETTINGS.precache);
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf("orfi-static-") === 0 && name !== STATIC_CACHE;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
        return self.clients.claim();
      })
  );
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "forget-pages") {
    event.waitUntil(caches.delete(PAGES_CACHE));
  }
});

function isFormResponse(response) {
  return (
    response &&
    response.ok &&
    !response.redirected &&
    new URL(response.url).pathname === SETTINGS.formUrl
  );
}

function keepForm(response) {
  if (isFormResponse(response)) {
    var copy = response.clone();
    return caches.open(PAGES_CACHE).then(function (cache) {
      return cache.put(SETTINGS.formUrl, copy);
    });
  }
  if (response && response.redirected) {
    // Sent to the login page: the session is over, its copy of the form goes too.
    return caches.delete(PAGES_CACHE);
  }
  return Promise.resolve();
}

// A short "Hors connexion" page around ``body`` (HTML written here, never user data).
function offlineResponse(body) {
  var html =
    '<!doctype html><html lang="fr"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    "<title>Hors connexion · orfi</title>" +
    '<link rel="stylesheet" href="' + SETTINGS.staticPrefix + 'css/orfi.css"></head>' +
    '<body><main id="contenu"><h1>Hors connexion</h1>' + body + "</main></body></html>";
  return new Response(html, {
    status: 503,
    headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" },
  });
}

function offlinePage() {
  return caches.match(SETTINGS.formUrl, { ignoreSearch: true }).then(function (form) {
    var link = form
      ? '<p><a class="button primary big" href="' + SETTINGS.formUrl + '">Signaler un fait</a></p>' +
        "<p class=\"hint\">Les signalements faits sans réseau restent sur ce téléphone et partent " +
        "d'eux-mêmes au retour du réseau.</p>"
      : "<p>Le formulaire de signalement n'est pas encore disponible sur ce téléphone : " +
        "ouvrez-le une fois avec du réseau.</p>";
    return offlineResponse("<p>Cette page n'est pas disponible sans réseau.</p>" + link);
  });
}

// The form: the network's answer if it comes in time, else the last copy.
function formFromNetworkFirst(event) {
  var network = fetch(event.request).then(function (response) {
    event.waitUntil(keepForm(response));
    return response;
  });
  var timeout = new Promise(function (resolve) {
    setTimeout(resolve, NETWORK_TIMEOUT_MS);
  });
  var fromCache = function () {
    return caches.match(SETTINGS.formUrl, { ignoreSearch: true });
  };
  return Promise.race([network, timeout.then(fromCache)])
    .then(function (response) {
      // The timeout won but nothing is cached: keep waiting for the network.
      return response || network;
    })
    .catch(function () {
      return fromCache().then(function (cached) {
        return cached || offlinePage();
      });
    });
}

function staleWhileRevalidate(event) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(event.request).then(function (cached) {
      var refresh = fetch(event.request)
        .then(function (response) {
          if (response && response.ok) {
            return cache.put(event.request, response.clone()).then(function () {
              return response;
            });
          }
          return response;
        })
        .catch(function () {
          return cached;
        });
      if (cached) {
        event.waitUntil(refresh);
        return cached;
      }
      return refresh.then(function (response) {
        return response || Response.error();
      });
    });
  });
}

function logoutRefused() {
  return offlineResponse(
    '<p class="flash flash-error" role="alert">Vous n\'êtes pas déconnecté : la ' +
      "déconnexion demande du réseau (le serveur doit fermer votre session). Réessayez " +
      "au retour du réseau. Les signalements en attente restent sur ce téléphone.</p>" +
      '<p><a class="button primary big" href="' + SETTINGS.formUrl + '">Signaler un fait</a></p>'
  );
}

function logout(event) {
  // The page's own script asks first what to do with unsent facts; this worker only
  // makes sure that the user's copy of the form never survives a logout. Without
  // network the logout did not happen: say so rather than the browser's error page.
  return caches.delete(PAGES_CACHE).then(function () {
    return fetch(event.request).catch(logoutRefused);
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    return;
  }
  if (request.method === "POST" && url.pathname === SETTINGS.logoutUrl) {
    event.respondWith(logout(event));
    return;
  }
  if (request.method !== "GET" || url.pathname.indexOf(SETTINGS.apiPrefix) === 0) {
    return; // sending is the page's job; the browser goes to the network as usual
  }
  if (request.mode === "navigate") {
    if (url.pathname === SETTINGS.formUrl) {
      event.respondWith(formFromNetworkFirst(event));
    } else {
      event.respondWith(
        fetch(request).catch(function () {
          return offlinePage();
        })
      );
    }
    return;
  }
  if (
    url.pathname.indexOf(SETTINGS.staticPrefix) === 0 ||
    SETTINGS.precache.indexOf(url.pathname) !== -1
  ) {
    event.respondWith(staleWhileRevalidate(event));
  }
});

// Alerts by Web Push (orfi/alerts/push.py): the payload names the fact, never its
// description; a click opens the fact's page (behind login) in this site only.
self.addEventListener("push", function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  var options = {
    body: data.body || "",
    tag: data.tag || undefined,
    icon: SETTINGS.staticPrefix + "img/icon-192.png",
    badge: SETTINGS.staticPrefix + "img/icon-192.png",
    data: { url: data.url || "/" },
  };
  event.waitUntil(self.registration.showNotification(data.title || "orfi", options));
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data || {}).url || "/", self.location.origin);
  if (target.origin !== self.location.origin) {
    target = new URL("/", self.location.origin);
  }
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i += 1) {
        if (windows[i].url === target.href && "focus" in windows[i]) {
          return windows[i].focus();
        }
      }
      return self.clients.openWindow(target.href);
    })
  );
});
