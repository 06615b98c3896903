// Asks a page's résidence search endpoint (?q=) for the résidences matching a text:
// shared by the sector picker (admin-sector.js) and the activity forms' selects
// (residence-select-search.js). Resolves to {items, truncated}; rejects on an error.
window.orfiSearchResidences = function (url, q) {
  return fetch(url + "?q=" + encodeURIComponent(q), {
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  }).then(function (response) {
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  });
};
