// The Call now page: shows the hold for the chosen length (amounts computed by the server).
(() => {
  const estimates = JSON.parse(document.getElementById("estimates").textContent);
  const minutes = document.getElementById("id_minutes");
  const shown = document.getElementById("estimate");
  const update = () => {
    const amount = estimates[minutes.value];
    shown.textContent = amount === undefined ? "—" : `$${Number(amount).toFixed(2)}`;
  };
  minutes.addEventListener("input", update);
  update();

  // One call per click: the button is disabled once the form is sent (the server also
  // answers a repeated submit with the live call), and enabled again on a page restored
  // from the back-forward cache.
  const form = document.getElementById("call-form");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", () => {
    button.disabled = true;
    button.textContent = "Calling…";
  });
  window.addEventListener("pageshow", () => {
    button.disabled = false;
    button.textContent = "Call me now";
  });
})();
