// 装修 page: a form with data-confirm (取消申请) asks first; nothing is sent unless staff agree.
// (The CSP allows only our own scripts, so this cannot be an inline onsubmit.)
(function () {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();
