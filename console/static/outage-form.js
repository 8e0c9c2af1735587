// The new-outage form: show only the chosen community's buildings, and picking a building
// switches the scope to "选择楼栋". Without scripts every community's buildings are listed.
(function () {
  var form = document.getElementById("outage-form");
  if (!form) return;
  var community = form.querySelector("select[name=community]");
  var some = form.querySelector("input[name=scope][value=some]");
  function filter() {
    form.querySelectorAll(".buildings").forEach(function (group) {
      var mine = group.getAttribute("data-community") === community.value;
      group.hidden = !mine;
      if (!mine) group.querySelectorAll("input").forEach(function (box) { box.checked = false; });
    });
  }
  community.addEventListener("change", filter);
  form.querySelectorAll(".buildings input").forEach(function (box) {
    box.addEventListener("change", function () { if (box.checked) some.checked = true; });
  });
  filter();
})();
