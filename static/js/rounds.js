// The patrol sheet's print button (no inline script: the CSP forbids it).
document.getElementById("rounds-print")?.addEventListener("click", () => window.print());
