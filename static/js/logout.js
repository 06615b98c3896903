/* « Déconnexion » without network: say so, in the page, instead of nothing.
 *
 * Logging out needs the server (it closes the session), so without network it is
 * refused, with a message that stays on the page (role="alert", read out by screen
 * readers) and changes when the network comes back. Nothing is deleted: the facts
 * waiting on this phone and the offline copy of the form stay (docs/offline.md). On
 * the field form, static/js/offline-queue.js then handles a logout with network.
 *
 * Loaded by templates/base.html on every page, before the pages' own scripts, so that
 * its listener runs first. Other scripts may call window.orfiLogout.refuse().
 */
(function () {
  "use strict";

  var form = document.getElementById("logout-form");
  if (!form) {
    return;
  }
  var OFFLINE =
    "Hors connexion : vous êtes toujours connecté. La déconnexion demande du réseau " +
    "(le serveur doit fermer votre session) : réessayez au retour du réseau. " +
    "Les signalements en attente restent sur ce téléphone.";
  var BACK = "Le réseau est revenu : vous pouvez maintenant vous déconnecter.";
  var message = null;

  function refuse() {
    // A menu left open at phone width would hide the message.
    Array.prototype.forEach.call(document.querySelectorAll("details.nav-more[open]"), function (menu) {
      menu.removeAttribute("open");
    });
    if (!message) {
      message = document.createElement("p");
      message.id = "logout-offline";
      message.setAttribute("role", "alert");
      var main = document.getElementById("contenu") || document.body;
      main.insertBefore(message, main.firstChild);
    }
    message.className = "flash flash-error";
    // Emptied then filled: a second tap is announced again.
    message.textContent = "";
    window.setTimeout(function () {
      message.textContent = OFFLINE;
    }, 50);
    window.scrollTo(0, 0);
  }

  form.addEventListener("submit", function (event) {
    if (navigator.onLine) {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
    refuse();
  });

  window.addEventListener("online", function () {
    if (message) {
      message.className = "flash flash-success";
      message.textContent = BACK;
    }
  });

  window.orfiLogout = { refuse: refuse };
})();
