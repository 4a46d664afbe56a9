// The manual match form of a bank line: as entries (and other lines) are ticked, say what they
// add up to and how far that is from the lines' amount (the server checks it again; this only
// helps the agent see it before sending).
(function () {
  "use strict";
  const form = document.querySelector("form[data-line-amount]");
  if (!form) {
    return;
  }
  const out = form.querySelector("[data-testid='match-sum']");
  const units = function (value) { return Math.round(Number(value) * 10000); };
  let money;
  try {
    money = new Intl.NumberFormat(form.dataset.locale || undefined, {
      style: "currency",
      currency: form.dataset.currency,
    });
  } catch (e) {
    money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2 });
  }
  const format = function (value) { return money.format(value / 10000); };
  const total = function (name) {
    let sum = 0;
    let count = 0;
    form.querySelectorAll("input[name='" + name + "']:checked").forEach(function (box) {
      sum += units(box.dataset.amount);
      count += 1;
    });
    return { sum: sum, count: count };
  };
  function update() {
    const entries = total("entry_ids");
    const lines = total("line_ids");
    if (!entries.count) {
      out.textContent = "";
      out.className = "small my-2";
      return;
    }
    const target = units(form.dataset.lineAmount) + lines.sum;
    const left = target - entries.sum;
    out.textContent = entries.count + " entr" + (entries.count === 1 ? "y" : "ies") +
      " ticked, together " + format(entries.sum) + (left === 0
        ? ": exactly the amount of the line" + (lines.count ? "s" : "") + "."
        : "; the line" + (lines.count ? "s come" : " comes") + " to " + format(target) +
          ", " + format(Math.abs(left)) + " apart: say why in the note.");
    out.className = "small my-2 " + (left === 0 ? "text-success fw-semibold" : "text-warning-emphasis");
  }
  form.addEventListener("change", update);
  document.body.addEventListener("htmx:afterSwap", update);
  update();
})();
