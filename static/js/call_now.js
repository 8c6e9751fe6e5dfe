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
})();
