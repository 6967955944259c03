// Progressive enhancement of the document pages; every form works without
// it. Served from /static because the Content-Security-Policy forbids
// inline scripts.
(function () {
  'use strict';

  // fold mirrors vntext.Fold: marks stripped, đ → d, lower case.
  function fold(s) {
    return s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase().replace(/\s+/g, ' ').trim();
  }

  // Recipient list: filter the unit checkboxes as the clerk types.
  var filter = document.getElementById('unit-filter');
  if (filter) {
    var units = document.querySelectorAll('#unit-list .unit');
    filter.addEventListener('input', function () {
      var q = fold(filter.value);
      units.forEach(function (el) {
        el.hidden = q !== '' && el.getAttribute('data-search').indexOf(q) < 0;
      });
    });
  }

  // Live progress: poll the dispatches of the document and update the bar,
  // the counts and the table in place, until every dispatch is final.
  var live = document.querySelector('[data-live]');
  if (!live) {
    return;
  }
  var url = live.getAttribute('data-live');
  var keys = ['queued', 'sent', 'read', 'acknowledged', 'bounced', 'failed'];
  var every = 2500;

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  // Vietnam time (UTC+7, no daylight saving), as the server formats it.
  function fmt(s) {
    if (!s) { return ''; }
    var d = new Date(Date.parse(s) + 7 * 3600 * 1000);
    return pad(d.getUTCDate()) + '/' + pad(d.getUTCMonth() + 1) + '/' + d.getUTCFullYear() + ' ' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
  }
  function setText(el, text) {
    if (el && el.textContent !== String(text)) { el.textContent = text; }
  }

  function update(data) {
    var p = data.progress;
    keys.forEach(function (k) { setText(live.querySelector('[data-count="' + k + '"]'), p[k]); });
    var x = 0;
    live.querySelectorAll('rect[data-seg]').forEach(function (r) {
      var w = p.total > 0 ? Math.floor(p[r.getAttribute('data-seg')] * 1000 / p.total) : 0;
      r.setAttribute('x', x);
      r.setAttribute('width', w);
      x += w;
    });
    setText(live.querySelector('[data-summary]'), p.acknowledged + '/' + p.total + ' đã xác nhận' + (p.overdue ? ' · ' + p.overdue + ' quá hạn' : ''));
    (data.dispatches || []).forEach(function (d) {
      var tr = document.querySelector('#dispatches tr[data-id="' + d.id + '"]');
      if (!tr) { return; }
      tr.className = 'st-' + d.status + (d.overdue ? ' overdue' : '');
      setText(tr.querySelector('[data-col="status"]'), d.status_label);
      setText(tr.querySelector('[data-col="sent_at"]'), fmt(d.sent_at));
      setText(tr.querySelector('[data-col="read_at"]'), fmt(d.read_at));
      setText(tr.querySelector('[data-col="acknowledged_at"]'), fmt(d.acknowledged_at));
      setText(tr.querySelector('[data-col="fail_reason"]'), d.fail_reason || '');
      setText(tr.querySelector('[data-col="reminded"]'), d.reminded);
      setText(tr.querySelector('[data-col="overdue"]'), d.overdue ? 'Quá hạn' : '');
    });
    if (data.final) { live.setAttribute('data-final', '1'); } else { live.removeAttribute('data-final'); }
  }

  function poll() {
    if (document.hidden) { setTimeout(poll, every); return; }
    fetch(url, { credentials: 'same-origin', headers: { 'Accept': 'application/json' } })
      .then(function (r) {
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        return r.json();
      })
      .then(function (data) {
        update(data);
        if (!data.final) { setTimeout(poll, every); }
      })
      .catch(function () { setTimeout(poll, every * 4); });
  }
  if (!live.hasAttribute('data-final')) { setTimeout(poll, every); }
}());
