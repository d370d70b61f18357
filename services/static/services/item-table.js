/* List attributes of the service form (services.admin.widgets.ItemTable): an "Add a row" button
 * that copies the blank row of the <template> with the next row number. Without JavaScript the
 * table still works: a blank row is there to add one item per save. */
(function () {
  "use strict";

  function setUp(table) {
    var button = table.querySelector("[data-item-table-add]");
    var template = table.querySelector("[data-item-table-template]");
    var total = table.querySelector("[data-item-table-total]");
    var rows = table.querySelector("[data-item-table-rows]");
    if (!button || !template || !total || !rows) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10) || 0;
      var holder = document.createElement("tbody");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
      while (holder.firstElementChild) {
        rows.appendChild(holder.firstElementChild);
      }
      total.value = String(index + 1);
    });
    rows.addEventListener("change", function (event) {
      if (event.target.matches("input[type=checkbox][name$='-DELETE']")) {
        event.target.closest("tr").classList.toggle("item-table-removed", event.target.checked);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-item-table]").forEach(setUp);
  });
})();
