// Dashboard pages: a select with class "auto-submit" submits its form when changed.
"use strict";
document.addEventListener("change", (event) => {
  const target = event.target;
  if (target instanceof HTMLSelectElement && target.classList.contains("auto-submit") && target.form) {
    target.form.requestSubmit();
  }
});
