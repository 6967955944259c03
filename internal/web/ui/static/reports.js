// Report page: while the report is being generated, poll its state and
// move the progress bar; reload once it is ready or failed, so that the
// figures and links appear. The page works without it (reload by hand).
(function () {
  'use strict';
  var box = document.getElementById('report-status');
  if (!box || box.getAttribute('data-state') !== 'generating') {
    return;
  }
  // Progress only: the figures come with the reload.
  var url = box.getAttribute('data-report') + '?figures=false';
  var bar = document.getElementById('report-progress');
  var text = document.getElementById('report-progress-text');
  function poll() {
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (rep) {
        if (rep.state !== 'generating') {
          window.location.reload();
          return;
        }
        if (bar) { bar.value = rep.progress; bar.textContent = rep.progress + '%'; }
        if (text) { text.textContent = 'Đang tính số liệu và lập biểu: ' + rep.progress + '%. Trang tự cập nhật khi xong.'; }
        window.setTimeout(poll, 1000);
      })
      .catch(function (status) {
        // A 4xx (session expired, access withdrawn, report gone) will not
        // mend itself: reload, which lands on the login or error page.
        // Network errors and 5xx are retried.
        if (typeof status === 'number' && status >= 400 && status < 500) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 3000);
      });
  }
  window.setTimeout(poll, 500);
}());
