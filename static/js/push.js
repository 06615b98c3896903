/*
 * « Alertes sur mes téléphones »: let this browser receive the user's alerts by Web
 * Push. Registers the service worker (it shows the notifications), asks the user's
 * permission, subscribes with the server's public key and sends the subscription.
 */
(function () {
  "use strict";
  var box = document.getElementById("push-this-device");
  if (!box) {
    return;
  }
  var button = document.getElementById("push-enable");
  var status = document.getElementById("push-status");

  function say(text) {
    status.textContent = text;
  }

  function keyBytes(base64url) {
    var padded = base64url + "====".slice(base64url.length % 4 || 4);
    var raw = atob(padded.replace(/-/g, "+").replace(/_/g, "/"));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.isSecureContext) {
    button.disabled = true;
    say(
      "Ce navigateur ne peut pas recevoir de notifications (sur iPhone : ajoutez d'abord " +
        "orfi à l'écran d'accueil, puis ouvrez-le depuis l'icône)."
    );
    return;
  }

  function send(subscription) {
    return fetch(box.dataset.registerUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": box.dataset.csrf },
      body: JSON.stringify(subscription.toJSON()),
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
    });
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    say("Autorisation demandée…");
    Notification.requestPermission()
      .then(function (permission) {
        if (permission !== "granted") {
          throw new Error("refused");
        }
        return navigator.serviceWorker
          .register(box.dataset.serviceWorker, { scope: "/" })
          .then(function () {
            return navigator.serviceWorker.ready;
          });
      })
      .then(function (registration) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(box.dataset.publicKey),
        });
      })
      .then(send)
      .then(function () {
        say("Cet appareil recevra vos alertes.");
        window.location.reload();
      })
      .catch(function (error) {
        button.disabled = false;
        say(
          error && error.message === "refused"
            ? "Notifications refusées : autorisez-les dans les réglages du navigateur pour ce site."
            : "L'abonnement n'a pas abouti (réseau ou service de notification indisponible). Réessayez."
        );
      });
  });
})();
