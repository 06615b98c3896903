/* Buttons marked data-print open the browser's print dialog (« Imprimer en PDF »):
   the résidence dossier. A script file, as the CSP forbids inline handlers. */
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
