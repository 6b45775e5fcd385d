// "Cancel booking" asks once, in a dialog, before the form is sent.
document.querySelectorAll("form.cancel").forEach((form) => {
  form.addEventListener("submit", (event) => {
    const dialog = document.getElementById("confirm-dialog");
    if (form.dataset.confirmed === "yes" || !dialog || !dialog.showModal) return;
    event.preventDefault();
    document.getElementById("confirm-text").textContent = form.dataset.confirm;
    dialog.returnValue = "";
    dialog.addEventListener("close", function done() {
      dialog.removeEventListener("close", done);
      if (dialog.returnValue === "yes") {
        form.dataset.confirmed = "yes";
        form.requestSubmit();
      }
    });
    dialog.showModal();
  });
});
