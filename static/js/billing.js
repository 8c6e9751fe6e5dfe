// The billing page's card form: Stripe.js (or localstripe's stand-in) saves the card
// through a SetupIntent; our server only ever receives the resulting pm_... id.
(function () {
  "use strict";
  const form = document.getElementById("card-form");
  if (!form || typeof Stripe === "undefined") {
    return;
  }
  const stripe = Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");

  const errors = document.getElementById("card-errors");
  const submit = document.getElementById("card-submit");
  const csrfToken = form.querySelector("[name=csrfmiddlewaretoken]").value;

  // Stripe reports on every change whether the card is complete, and what is wrong with it.
  let cardState = { empty: true, complete: false, error: null };
  card.on("change", (event) => {
    cardState = { empty: event.empty, complete: event.complete, error: event.error || null };
    errors.textContent = cardState.error ? cardState.error.message : "";
  });

  async function post(url, fields) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken },
      body: new URLSearchParams(fields),
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(body.message || "Something went wrong. Please try again.");
    }
    return body;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // An empty or visibly wrong card is reported at once; Stripe.js names any other gap.
    if (cardState.empty || cardState.error) {
      errors.textContent = cardState.error ? cardState.error.message : "Your card number is incomplete.";
      card.focus();
      return;
    }
    errors.textContent = "";
    submit.disabled = true;
    try {
      const setup = await post(form.dataset.setupUrl, {});
      const result = await stripe.confirmCardSetup(setup.client_secret, { payment_method: { card: card } });
      if (result.error) {
        throw new Error(result.error.message || "Your card could not be saved.");
      }
      const paymentMethod = result.setupIntent.payment_method;
      await post(form.dataset.addUrl, {
        payment_method_id: typeof paymentMethod === "string" ? paymentMethod : paymentMethod.id,
        set_as_default: form.elements.set_as_default.checked ? "on" : "",
      });
      window.location.reload();
    } catch (error) {
      errors.textContent = error.message;
      submit.disabled = false;
    }
  });
})();
