// A date field's chosen day, written out beside it in the page's language
// ("Senin, 7 Desember 2026"), whatever order the browser's own locale shows the field in.
for (const said of document.querySelectorAll(".said-day")) {
  const field = document.getElementById(said.dataset.for);
  if (!field) continue;
  const words = new Intl.DateTimeFormat(said.dataset.lang || document.documentElement.lang, {
    weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC",
  });
  const show = () => {
    said.textContent = field.value ? words.format(new Date(field.value + "T00:00:00Z")) : "";
  };
  field.addEventListener("input", show);
  field.addEventListener("change", show);
}
