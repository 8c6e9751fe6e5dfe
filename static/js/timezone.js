// Fills empty time-zone fields with the browser's IANA zone (e.g. "Europe/London").
(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone) return;
  document.querySelectorAll("input[data-browser-timezone]").forEach(function (input) {
    if (!input.value) input.value = zone;
  });
})();
