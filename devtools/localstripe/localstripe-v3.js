// The Stripe.js that localstripe serves (at /js.stripe.com/v3/) when the app runs without
// Stripe keys. It does what our pages use of the real one, and behaves like it for the
// person typing: one tidy row (brand, number, MM / YY, CVC, ZIP), spaces and grouping in
// the number, the brand detected as they type, and Stripe's own messages on change events
// and from confirmCardSetup. Card data goes only to localstripe, never to our server.
(function () {
  "use strict";

  const API_BASE = document.currentScript.src.replace(/\/js\.stripe\.com\/v3\/?(\?.*)?$/, "");

  const BRANDS = [
    // [brand, label, prefix pattern, digits, cvc digits]
    ["amex", "AMEX", /^3[47]/, 15, 4],
    ["diners", "DINERS", /^(30[0-5]|3[689])/, 14, 3],
    ["jcb", "JCB", /^35(2[89]|[3-8])/, 16, 3],
    ["discover", "DISC", /^(6011|64[4-9]|65)/, 16, 3],
    ["unionpay", "UPAY", /^62/, 16, 3],
    ["mastercard", "MC", /^(5[1-5]|222[1-9]|22[3-9]|2[3-6]|27[01]|2720)/, 16, 3],
    ["visa", "VISA", /^4/, 16, 3],
  ];
  const UNKNOWN = ["unknown", "CARD", null, 16, 3];

  const MESSAGES = {
    incomplete_number: "Your card number is incomplete.",
    invalid_number: "Your card number is invalid.",
    incomplete_expiry: "Your card's expiration date is incomplete.",
    invalid_expiry_month: "Your card's expiration month is invalid.",
    invalid_expiry_year_past: "Your card's expiration year is in the past.",
    invalid_expiry_month_past: "Your card's expiration date is in the past.",
    incomplete_cvc: "Your card's security code is incomplete.",
    incomplete_zip: "Your postal code is incomplete.",
  };

  const STYLE = `
    .ls-card { display: flex; flex-wrap: nowrap; align-items: center; gap: .5em; width: 100%; min-width: 0; }
    .ls-card .ls-card__brand { flex: none; font: 700 .62em/1 system-ui, sans-serif; letter-spacing: .04em;
      color: #fff; background: #8792a2; border-radius: 3px; padding: .35em .4em; min-width: 3em; text-align: center; }
    .ls-card .ls-card__brand[data-brand="visa"] { background: #1a1f71; }
    .ls-card .ls-card__brand[data-brand="mastercard"] { background: #eb001b; }
    .ls-card .ls-card__brand[data-brand="amex"] { background: #2e77bb; }
    .ls-card input.ls-card__input, .ls-card input.ls-card__input:focus { font: inherit; color: inherit;
      background: transparent; border: 0; outline: 0; padding: 0; margin: 0; min-width: 0; width: auto;
      box-shadow: none; }
    .ls-card input.ls-card__input::placeholder { color: #8792a2; }
    .ls-card input.ls-card__input--invalid { color: #df1b41; }
    .ls-card .ls-card__number { flex: 1 0 11.5em; }
    .ls-card .ls-card__expiry { flex: 0 0 4.2em; }
    .ls-card .ls-card__cvc { flex: 0 0 2.6em; }
    .ls-card .ls-card__zip { flex: 0 0 3.6em; }
    /* Too narrow for every field (a phone): the number first; once it is complete it slides
       down to its last digits and the other fields take the room, as Stripe's row does. */
    .ls-card--narrow:not(.ls-card--number-done) .ls-card__expiry,
    .ls-card--narrow:not(.ls-card--number-done) .ls-card__cvc,
    .ls-card--narrow:not(.ls-card--number-done) .ls-card__zip { display: none; }
    .ls-card--narrow { gap: .4em; }
    .ls-card .ls-card__last4 { display: none; flex: 0 0 2.4em; cursor: text; }
    .ls-card--narrow.ls-card--number-done .ls-card__number { display: none; }
    .ls-card--narrow.ls-card--number-done .ls-card__last4 { display: block; }
    .ls-card--narrow .ls-card__zip { flex-basis: 3.4em; }
  `;

  function injectStyle() {
    if (document.getElementById("ls-card-style")) {
      return;
    }
    const style = document.createElement("style");
    style.id = "ls-card-style";
    style.textContent = STYLE;
    document.head.appendChild(style);
  }

  function digits(value) {
    return value.replace(/\D/g, "");
  }

  function brandOf(number) {
    return BRANDS.find(([, , prefix]) => prefix.test(number)) || UNKNOWN;
  }

  function luhn(number) {
    let sum = 0;
    for (let i = 0; i < number.length; i++) {
      let digit = Number(number[number.length - 1 - i]);
      if (i % 2 === 1) {
        digit *= 2;
        if (digit > 9) {
          digit -= 9;
        }
      }
      sum += digit;
    }
    return sum % 10 === 0;
  }

  function groupNumber(number, brand) {
    const groups = brand[0] === "amex" || brand[0] === "diners" ? [4, 6, 5] : [4, 4, 4, 4, 3];
    const parts = [];
    let rest = number;
    for (const size of groups) {
      if (!rest) {
        break;
      }
      parts.push(rest.slice(0, size));
      rest = rest.slice(size);
    }
    return parts.join(" ");
  }

  // Month and two-digit year from what was typed or pasted: "1" → "01", "1230", "12 / 30";
  // a four-digit year ("12/2030", or typed on past "12 / 20") keeps its last two digits.
  function parseExpiry(value) {
    let raw = digits(value);
    if (raw.length === 1 && Number(raw) > 1) {
      raw = "0" + raw;
    }
    if (raw.length >= 5 && raw.slice(2, 4) === "20") {
      return raw.length >= 6 ? raw.slice(0, 2) + raw.slice(4, 6) : raw.slice(0, 5);
    }
    return raw.slice(0, 4);
  }

  function formatExpiry(raw, deleting) {
    if (raw.length < 2 || (raw.length === 2 && deleting)) {
      return raw;
    }
    return raw.slice(0, 2) + " / " + raw.slice(2);
  }

  class CardElement {
    constructor(elements, options) {
      this._elements = elements;
      this._options = options || {};
      this._listeners = {};
      this._root = null;
      this._inputs = null;
      this._touched = {};
    }

    mount(target) {
      const container = typeof target === "string" ? document.querySelector(target) : target;
      if (!(container instanceof window.Element)) {
        throw new Error("Invalid DOM element. Make sure to call mount() with a valid DOM element or selector.");
      }
      if (this._root) {
        throw new Error("This Element is already mounted. Use `unmount()` to unmount the Element before re-mounting.");
      }
      injectStyle();
      const root = document.createElement("div");
      root.className = "ls-card";
      const brand = document.createElement("span");
      brand.className = "ls-card__brand";
      brand.dataset.brand = "unknown";
      brand.textContent = UNKNOWN[1];
      brand.setAttribute("aria-hidden", "true");
      root.appendChild(brand);
      const field = (name, label, placeholder, autocomplete) => {
        const input = document.createElement("input");
        input.type = "text";
        input.className = `ls-card__input ls-card__${name}`;
        input.name = `ls-card-${name}`;
        input.placeholder = placeholder;
        input.setAttribute("aria-label", label);
        input.setAttribute("autocomplete", autocomplete);
        input.setAttribute("inputmode", "numeric");
        input.spellcheck = false;
        root.appendChild(input);
        return input;
      };
      this._brandBadge = brand;
      // Stands in for the number on a narrow row once it is complete; a click edits the number.
      const last4 = document.createElement("span");
      last4.className = "ls-card__last4";
      last4.addEventListener("click", () => {
        this._slideNumber(false);
        this._inputs.number.focus();
      });
      this._last4 = last4;
      const number = field("number", "Card number", "1234 1234 1234 1234", "cc-number");
      root.appendChild(last4);
      this._inputs = {
        number,
        expiry: field("expiry", "Expiration date MM / YY", "MM / YY", "cc-exp"),
        cvc: field("cvc", "Security code", "CVC", "cc-csc"),
      };
      if (!this._options.hidePostalCode) {
        this._inputs.zip = field("zip", "ZIP or postal code", "ZIP", "postal-code");
        this._inputs.zip.setAttribute("inputmode", "text");
      }
      Object.entries(this._inputs).forEach(([name, input]) => {
        input.addEventListener("input", (event) => this._onInput(name, event));
        input.addEventListener("blur", () => {
          this._touched[name] = Boolean(input.value);
          this._emitChange();
        });
      });
      this._inputs.number.addEventListener("focus", () => this._slideNumber(false));
      this._inputs.number.addEventListener("blur", () => this._slideNumber(this._numberComplete()));
      container.appendChild(root);
      this._root = root;
      // Narrow when every field side by side would overflow the row.
      new ResizeObserver(() => {
        root.classList.remove("ls-card--narrow");
        root.classList.toggle("ls-card--narrow", root.scrollWidth > root.clientWidth);
      }).observe(root);
      this._emit("ready", { elementType: "card" });
    }

    _onInput(name, event) {
      const input = this._inputs[name];
      const deleting = (event.inputType || "").startsWith("delete");
      if (name === "number") {
        const brand = brandOf(digits(input.value));
        const number = digits(input.value).slice(0, brand[3]);
        input.value = groupNumber(number, brand);
        this._brandBadge.dataset.brand = brand[0];
        this._brandBadge.textContent = brand[1];
        if (number.length === brand[3] && !deleting) {
          this._slideNumber(true);
          this._inputs.expiry.focus();
        }
      } else if (name === "expiry") {
        const raw = parseExpiry(input.value);
        input.value = formatExpiry(raw, deleting);
        // "12 / 20" is likely the start of a four-digit year (2030): wait for the rest.
        if (raw.length === 4 && raw.slice(2) !== "20" && !deleting) {
          this._inputs.cvc.focus();
        }
      } else if (name === "cvc") {
        input.value = digits(input.value).slice(0, this._cvcLength());
        if (input.value.length === this._cvcLength() && !deleting && this._inputs.zip) {
          this._inputs.zip.focus();
        }
      } else if (name === "zip") {
        input.value = input.value.replace(/[^0-9A-Za-z \-]/g, "").slice(0, 10);
      }
      this._emitChange();
    }

    _numberComplete() {
      const number = digits(this._inputs.number.value);
      return number.length === brandOf(number)[3];
    }

    // On a narrow row, a complete number shows only its end while the other fields are filled.
    _slideNumber(done) {
      this._last4.textContent = digits(this._inputs.number.value).slice(-4);
      this._root.classList.toggle("ls-card--number-done", done);
    }

    _cvcLength() {
      return brandOf(digits(this._inputs.number.value))[4];
    }

    // The card's state as Stripe reports it: the first problem, if any, and its field.
    _state() {
      const number = digits(this._inputs.number.value);
      const brand = brandOf(number);
      const expiry = parseExpiry(this._inputs.expiry.value);
      const cvc = this._inputs.cvc.value;
      const zip = this._inputs.zip ? this._inputs.zip.value.trim() : "x";
      const empty = !number && !expiry && !cvc && !(this._inputs.zip && zip);
      const problems = [];
      if (number.length < brand[3]) {
        problems.push(["number", "incomplete_number"]);
      } else if (!luhn(number)) {
        problems.push(["number", "invalid_number"]);
      }
      if (expiry.length < 4) {
        problems.push(["expiry", "incomplete_expiry"]);
      } else {
        const month = Number(expiry.slice(0, 2));
        const year = 2000 + Number(expiry.slice(2, 4));
        const now = new Date();
        if (month < 1 || month > 12) {
          problems.push(["expiry", "invalid_expiry_month"]);
        } else if (year < now.getFullYear()) {
          problems.push(["expiry", "invalid_expiry_year_past"]);
        } else if (year === now.getFullYear() && month < now.getMonth() + 1) {
          problems.push(["expiry", "invalid_expiry_month_past"]);
        }
      }
      if (cvc.length < brand[4]) {
        problems.push(["cvc", "incomplete_cvc"]);
      }
      if (!zip) {
        problems.push(["zip", "incomplete_zip"]);
      }
      return { number, brand, expiry, cvc, zip, empty, problems };
    }

    // Stripe reports a field's problem once it is wrong for sure, or was left unfinished.
    _visibleProblem(state) {
      return state.problems.find(([field, code]) => !code.startsWith("incomplete") || this._touched[field]);
    }

    _emitChange() {
      const state = this._state();
      Object.entries(this._inputs).forEach(([field, input]) => {
        const shown = state.problems.some(([f, code]) => f === field && !code.startsWith("incomplete"));
        input.classList.toggle("ls-card__input--invalid", shown);
      });
      const problem = this._visibleProblem(state);
      this._emit("change", {
        elementType: "card",
        empty: state.empty,
        complete: state.problems.length === 0,
        brand: state.brand[0],
        value: { postalCode: this._inputs.zip ? state.zip : undefined },
        error: problem ? { type: "validation_error", code: problem[1], message: MESSAGES[problem[1]] } : undefined,
      });
    }

    _emit(event, payload) {
      (this._listeners[event] || []).forEach((handler) => handler(payload));
    }

    // What confirmCardSetup sends, or Stripe's validation error for the first problem.
    _cardData() {
      const state = this._state();
      if (state.problems.length) {
        const [field, code] = state.problems[0];
        this._inputs[field].focus();
        return { error: { type: "validation_error", code, message: MESSAGES[code] } };
      }
      return {
        card: {
          number: state.number,
          exp_month: Number(state.expiry.slice(0, 2)),
          exp_year: 2000 + Number(state.expiry.slice(2, 4)),
          cvc: state.cvc,
        },
        postalCode: this._inputs.zip ? state.zip : undefined,
      };
    }

    on(event, handler) {
      (this._listeners[event] = this._listeners[event] || []).push(handler);
      return this;
    }

    off(event, handler) {
      this._listeners[event] = (this._listeners[event] || []).filter((h) => h !== handler);
      return this;
    }

    focus() {
      if (this._inputs) {
        this._inputs.number.focus();
      }
    }

    blur() {
      if (this._root && this._root.contains(document.activeElement)) {
        document.activeElement.blur();
      }
    }

    clear() {
      if (this._inputs) {
        Object.values(this._inputs).forEach((input) => {
          input.value = "";
        });
        this._touched = {};
        this._emitChange();
      }
    }

    update(options) {
      Object.assign(this._options, options || {});
    }

    unmount() {
      if (this._root) {
        this._root.remove();
      }
      this._root = null;
      this._inputs = null;
    }

    destroy() {
      this.unmount();
      this._elements._card = null;
    }
  }

  async function post(path, body) {
    // A text/plain JSON body, as localstripe expects from its browser client (no CORS preflight).
    const response = await fetch(`${API_BASE}${path}`, { method: "POST", body: JSON.stringify(body) });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok || answer.error) {
      const error = answer.error || {};
      return { error: { type: error.type || "api_error", code: error.code, message: error.message || "Your card could not be saved." } };
    }
    return { answer };
  }

  window.Stripe = function Stripe(publishableKey) {
    if (!publishableKey) {
      throw new Error("Please call Stripe() with your publishable key. You used an empty string.");
    }
    return {
      elements() {
        return {
          _card: null,
          create(type, options) {
            if (type !== "card") {
              throw new Error(`This local Stripe.js only offers the "card" Element, not "${type}".`);
            }
            if (this._card) {
              throw new Error("Can only create one Element of type card.");
            }
            this._card = new CardElement(this, options);
            return this._card;
          },
          getElement(type) {
            return type === "card" ? this._card : null;
          },
        };
      },

      async confirmCardSetup(clientSecret, data) {
        const match = /^(seti_[A-Za-z0-9]+)_secret_/.exec(clientSecret || "");
        if (!match) {
          return { error: { type: "invalid_request_error", message: "Invalid SetupIntent client secret." } };
        }
        const method = Object.assign({}, (data && data.payment_method) || {});
        if (method.card instanceof CardElement) {
          const entered = method.card._cardData();
          if (entered.error) {
            return entered;
          }
          method.card = entered.card;
          const details = Object.assign({}, method.billing_details || {});
          details.address = Object.assign({ postal_code: entered.postalCode }, details.address || {});
          method.billing_details = details;
        }
        const path = `/v1/setup_intents/${match[1]}/confirm`;
        const base = { key: publishableKey, use_stripe_sdk: true, client_secret: clientSecret };
        let result = await post(path, Object.assign({ payment_method_data: Object.assign({ type: "card" }, method) }, base));
        if (!result.error && result.answer.status === "requires_action") {
          const passed = window.confirm("3D Secure test card: complete the authentication?");
          result = await post(passed ? path : `/v1/setup_intents/${match[1]}/cancel`, base);
          if (!result.error && result.answer.status !== "succeeded") {
            return { error: { type: "card_error", code: "setup_intent_authentication_failure", message: "We are unable to authenticate your payment method. Please choose a different payment method and try again." } };
          }
        }
        if (result.error) {
          return result;
        }
        return { setupIntent: result.answer };
      },
    };
  };
})();
