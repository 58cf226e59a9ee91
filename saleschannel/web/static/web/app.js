// Small behaviours of the back office; everything works without them except "select all".
(function () {
  "use strict";
  // Dates are shown in the browser's time zone: tell the server which one it is.
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("tz=" + zone) === -1) {
      document.cookie = "tz=" + zone + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* older browsers: the server's time zone is used */ }
  // Forms and buttons with data-confirm ask before they submit (destructive actions).
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var message = (submitter && submitter.dataset.confirm) || event.target.dataset.confirm;
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);
  // Buttons with data-open-dialog open that <dialog>; data-close-dialog closes the dialog it is in.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-open-dialog]");
    if (opener && !opener.disabled) {
      var dialog = document.getElementById(opener.dataset.openDialog);
      if (dialog && dialog.showModal) { dialog.showModal(); }
      return;
    }
    var closer = event.target.closest && event.target.closest("[data-close-dialog]");
    if (closer) { closer.closest("dialog").close(); }
  });
  // "Select all on this page" for grids with row checkboxes.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("input[data-select-all]")) {
      document.querySelectorAll("input[name='" + box.dataset.selectAll + "']").forEach(function (row) {
        row.checked = box.checked;
      });
    }
  });
  // htmx requests carry the CSRF token of the page.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.querySelector("meta[name=csrf-token]");
    if (token) { event.detail.headers["X-CSRFToken"] = token.content; }
  });
})();
