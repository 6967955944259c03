// The inspector's form (/inspections/{id}). It saves the draft as the
// inspector goes: every change is kept at once in localStorage under the
// inspection's id, so that a reload or a dropped connection loses nothing,
// and sent to the server a second after the last keystroke (PUT with the
// revision it was based on; a 409 means another device saved first). Failed
// saves are retried with backoff. Without this script the page still shows
// the record. Served from /static because the Content-Security-Policy
// forbids inline scripts.
(function () {
  'use strict';

  var form = document.getElementById('inspection-form');
  if (!form) {
    return;
  }
  var api = form.getAttribute('data-api');
  var revision = parseInt(form.getAttribute('data-revision'), 10);
  var storeKey = 'vanthu.inspection.' + form.getAttribute('data-id');
  var statusEl = document.getElementById('save-status');
  var reloadBtn = document.getElementById('reload');
  var problemsEl = document.getElementById('save-problems');

  var COUNTS = ['listed', 'present', 'absent_leave', 'absent_assignment', 'absent_study', 'absent_unexcused', 'late', 'left_early'];
  // The fields of each list's rows, as the JSON API names them.
  var LISTS = {
    team: ['name', 'position', 'role'],
    representatives: ['name', 'position'],
    checklist: ['code', 'label', 'result', 'note'],
    findings: ['name', 'position', 'section', 'violation', 'seen_at', 'explanation'],
    handling: ['code', 'person', 'note']
  };
  var ROW_NAMES = {
    team: 'Thành viên đoàn thứ ', representatives: 'Người đại diện thứ ', checklist: 'Nội dung kiểm tra thứ ',
    findings: 'Người vi phạm thứ ', handling: 'Kiến nghị xử lý thứ ', legal_basis: 'Căn cứ thứ '
  };
  var DEBOUNCE = 1000;
  var MAX_RETRY = 30000;

  // ---- Time: Vietnam is UTC+7 all year, with no daylight saving.
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function vn(ms) { return new Date(ms + 7 * 3600 * 1000); }
  function localValue(ms) {
    var d = vn(ms);
    return d.getUTCFullYear() + '-' + pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate()) + 'T' + pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes());
  }
  function clock(ms) { var d = vn(ms); return pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes()); }
  // A datetime-local value ("2026-11-25T07:45") as RFC 3339 in Vietnam time.
  function toISO(v) {
    if (!v) { return null; }
    return (v.length === 16 ? v + ':00' : v) + '+07:00';
  }
  function dateISO(v) { return v ? v + 'T00:00:00+07:00' : null; }
  function fromISO(s) {
    var ms = s ? Date.parse(s) : NaN;
    return isNaN(ms) ? '' : localValue(ms);
  }

  // percent mirrors vanthu.Percent: hundredths of a percent rounded half up
  // in integers, written with a decimal comma ("78,54%").
  function percent(part, whole) {
    if (whole <= 0) { return '0,00%'; }
    var bp = Math.trunc((Math.trunc(part * 100000 / whole) + 5) / 10);
    return Math.trunc(bp / 100) + ',' + pad(bp % 100) + '%';
  }

  // ---- Reading and writing the form.
  function field(name) { return form.elements.namedItem(name); }
  function val(name) { var e = field(name); return e ? e.value : ''; }
  function setVal(name, v) { var e = field(name); if (e) { e.value = v == null ? '' : String(v); } }
  function num(v) { var n = parseInt(v, 10); return isNaN(n) ? 0 : n; }
  function list(name) { return form.querySelector('[data-list="' + name + '"]'); }
  function rowsOf(name) { return Array.prototype.slice.call(list(name).querySelectorAll(':scope > [data-row]')); }

  var radioGroup = 0;
  // addRow appends a blank row of a list from its <template>.
  function addRow(name) {
    var tpl = form.querySelector('template[data-tpl="' + name + '"]');
    var row = tpl.content.firstElementChild.cloneNode(true);
    // Radio groups need a name of their own in each row.
    row.querySelectorAll('input[type=radio]').forEach(function (r) { r.name = 'checklist.new' + radioGroup + '.result'; });
    radioGroup++;
    list(name).appendChild(row);
    return row;
  }

  function readRow(name, row) {
    var o = {};
    LISTS[name].forEach(function (f) {
      if (f === 'result') {
        var c = row.querySelector('[data-f="result"]:checked');
        o.result = c ? c.value : '';
        return;
      }
      var e = row.querySelector('[data-f="' + f + '"]');
      o[f] = e ? e.value : '';
    });
    if (name === 'findings') { o.seen_at = toISO(o.seen_at); }
    return o;
  }

  function writeRow(name, row, item) {
    LISTS[name].forEach(function (f) {
      var v = item[f];
      if (f === 'result') {
        row.querySelectorAll('[data-f="result"]').forEach(function (r) { r.checked = r.value === v; });
        return;
      }
      if (name === 'findings' && f === 'seen_at') { v = fromISO(v); }
      var e = row.querySelector('[data-f="' + f + '"]');
      if (e) { e.value = v == null ? '' : String(v); }
    });
    var label = row.querySelector('[data-text="label"]');
    if (label) { label.textContent = item.label || ''; }
  }

  // collect reads the whole form as the JSON the API takes.
  function collect() {
    var counts = {};
    COUNTS.forEach(function (k) { counts[k] = num(val('attendance.' + k)); });
    var d = {
      revision: revision,
      unit_id: num(val('unit_id')),
      place: val('place'),
      surprise: field('surprise').checked,
      started_at: toISO(val('started_at')),
      ended_at: toISO(val('ended_at')),
      legal_basis: val('legal_basis').split('\n').map(function (s) { return s.trim(); }).filter(function (s) { return s !== ''; }),
      attendance: counts,
      unit_explanation: val('unit_explanation'),
      conclusions: val('conclusions'),
      report_deadline: dateISO(val('report_deadline')),
      refused_to_sign: field('refused_to_sign').checked,
      refusal_reason: val('refusal_reason')
    };
    Object.keys(LISTS).forEach(function (name) {
      d[name] = rowsOf(name).map(function (row) { return readRow(name, row); });
    });
    return d;
  }

  // fill puts a collected record back into the form.
  function fill(d) {
    setVal('unit_id', d.unit_id ? d.unit_id : '');
    setVal('place', d.place);
    field('surprise').checked = !!d.surprise;
    setVal('started_at', fromISO(d.started_at));
    setVal('ended_at', fromISO(d.ended_at));
    setVal('legal_basis', (d.legal_basis || []).join('\n'));
    COUNTS.forEach(function (k) { setVal('attendance.' + k, d.attendance ? d.attendance[k] : 0); });
    setVal('unit_explanation', d.unit_explanation);
    setVal('conclusions', d.conclusions);
    setVal('report_deadline', d.report_deadline ? fromISO(d.report_deadline).slice(0, 10) : '');
    field('refused_to_sign').checked = !!d.refused_to_sign;
    setVal('refusal_reason', d.refusal_reason);
    Object.keys(LISTS).forEach(function (name) {
      rowsOf(name).forEach(function (row) { row.remove(); });
      (d[name] || []).forEach(function (item) { writeRow(name, addRow(name), item); });
    });
    updateRates();
  }

  // ---- Attendance rates, as the server prints them.
  function setText(id, text) { var e = document.getElementById(id); if (e) { e.textContent = text; } }
  function updateRates() {
    var a = {};
    COUNTS.forEach(function (k) { a[k] = num(val('attendance.' + k)); });
    var excused = a.absent_leave + a.absent_assignment + a.absent_study;
    var absent = excused + a.absent_unexcused;
    function of(label, n) { return label + ' ' + n + '/' + a.listed + ' (' + percent(n, a.listed) + ')'; }
    setText('rate-present', of('Có mặt', a.present));
    setText('rate-absent', of('Vắng', absent));
    setText('rate-excused', of('Vắng có lý do', excused));
    setText('rate-unexcused', of('Vắng không lý do', a.absent_unexcused));
    setText('rate-late', of('Đi muộn, về sớm', a.late + a.left_early));
    var check = document.getElementById('attendance-check');
    var ok = false;
    if (a.present + absent !== a.listed) {
      check.textContent = 'Số có mặt (' + a.present + ') cộng số vắng (' + absent + ') phải bằng số trong danh sách (' + a.listed + ').';
    } else if (a.late + a.left_early > a.present) {
      check.textContent = 'Số đi muộn, về sớm (' + (a.late + a.left_early) + ') không thể nhiều hơn số có mặt (' + a.present + ').';
    } else {
      check.textContent = 'Số liệu khớp: ' + a.present + ' có mặt + ' + absent + ' vắng = ' + a.listed + '.';
      ok = true;
    }
    check.className = ok ? 'ok' : 'warn';
  }

  // ---- The local copy: what was typed, and the revision it builds on.
  function keepLocal() {
    try {
      localStorage.setItem(storeKey, JSON.stringify({ base: revision, at: Date.now(), data: collect() }));
    } catch (e) { /* storage full or disabled: the server copy still counts */ }
  }
  function readLocal() {
    try {
      var v = JSON.parse(localStorage.getItem(storeKey) || 'null');
      return v && v.data ? v : null;
    } catch (e) { return null; }
  }
  function dropLocal() { try { localStorage.removeItem(storeKey); } catch (e) { /* nothing to drop */ } }

  // ---- Saving.
  var edits = 0;      // changes made on this page
  var sentEdits = -1; // the change count the server has
  var timer = null;
  var retryTimer = null;
  var retryDelay = 0;
  var inFlight = false;
  var stopped = false; // after a conflict: only a reload helps

  function setStatus(state, text) {
    statusEl.textContent = text;
    statusEl.setAttribute('data-state', state);
    reloadBtn.hidden = state !== 'conflict';
  }

  function clearProblems() {
    problemsEl.hidden = true;
    problemsEl.textContent = '';
    form.querySelectorAll('.invalid').forEach(function (e) { e.classList.remove('invalid'); });
  }

  // fieldFor finds the input a problem names: "place", "attendance.late",
  // "findings[2].violation", "legal_basis[0]".
  function fieldFor(path) {
    var m = /^(\w+)\[(\d+)\]\.(\w+)$/.exec(path);
    if (m && LISTS[m[1]]) {
      var row = rowsOf(m[1])[+m[2]];
      return row ? row.querySelector('[data-f="' + m[3] + '"]') : null;
    }
    m = /^(\w+)\[(\d+)\]$/.exec(path);
    if (m) { return field(m[1]); }
    var e = field(path);
    return e && e.nodeType === 1 ? e : null;
  }

  function problemText(p) {
    var m = /^(\w+)\[(\d+)\]/.exec(p.field || '');
    return (m && ROW_NAMES[m[1]] ? ROW_NAMES[m[1]] + (+m[2] + 1) + ': ' : '') + p.message;
  }

  function showProblems(message, problems) {
    clearProblems();
    var p = document.createElement('p');
    p.textContent = message;
    problemsEl.appendChild(p);
    if (problems && problems.length) {
      var ul = document.createElement('ul');
      problems.forEach(function (x) {
        var li = document.createElement('li');
        li.textContent = problemText(x);
        ul.appendChild(li);
        var e = x.field ? fieldFor(x.field) : null;
        var box = e && (e.closest('.f') || e.closest('.row') || e);
        if (box) { box.classList.add('invalid'); }
      });
      problemsEl.appendChild(ul);
    }
    problemsEl.hidden = false;
  }

  function retryLater() {
    clearTimeout(retryTimer);
    retryDelay = retryDelay ? Math.min(retryDelay * 2, MAX_RETRY) : 1000;
    retryTimer = setTimeout(function () { retryTimer = null; save(); }, retryDelay);
  }

  function save() {
    clearTimeout(timer);
    timer = null;
    if (inFlight || stopped || sentEdits === edits) { return; }
    clearTimeout(retryTimer);
    retryTimer = null;
    inFlight = true;
    var mine = edits;
    setStatus('saving', 'Đang lưu…');
    fetch(api, {
      method: 'PUT',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(collect())
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) { return { status: r.status, body: body }; });
    }).then(function (res) {
      inFlight = false;
      var err = res.body && res.body.error;
      if (res.status === 200 && res.body) {
        revision = res.body.revision;
        retryDelay = 0;
        sentEdits = mine;
        clearProblems();
        if (edits === mine) {
          dropLocal();
          setStatus('saved', 'Đã lưu lúc ' + clock(Date.now()));
        } else {
          keepLocal(); // the newer edits now build on the new revision
          if (!timer) { save(); }
        }
        return;
      }
      if (res.status === 409) {
        stopped = true;
        setStatus('conflict', 'Thiết bị khác vừa lưu biên bản này');
        showProblems(err ? err.message : 'Thiết bị khác vừa lưu biên bản này; hãy tải lại trang.', null);
        return;
      }
      if (res.status === 422 || res.status === 413 || res.status === 400) {
        sentEdits = mine; // the same content would be refused again
        setStatus('invalid', 'Chưa lưu được: cần sửa nội dung bên dưới');
        showProblems(err ? err.message : 'Nội dung chưa hợp lệ.', err && err.problems);
        return;
      }
      if (res.status === 401 || res.status === 403) {
        setStatus('retry', 'Chưa lưu được — phiên đăng nhập đã hết, hãy đăng nhập lại ở thẻ khác; nội dung vẫn được giữ trên máy này');
        retryLater();
        return;
      }
      throw new Error('HTTP ' + res.status);
    }).catch(function () {
      inFlight = false;
      setStatus('retry', 'Chưa lưu được — sẽ thử lại');
      retryLater();
    });
  }

  function changed() {
    edits++;
    keepLocal();
    if (stopped) { return; }
    if (!inFlight) { setStatus('dirty', 'Có thay đổi chưa lưu'); }
    clearTimeout(timer);
    timer = setTimeout(save, DEBOUNCE);
  }

  function onEdit(e) {
    if (e.target.name && e.target.name.indexOf('attendance.') === 0) { updateRates(); }
    changed();
  }
  form.addEventListener('input', onEdit);
  form.addEventListener('change', onEdit);
  form.addEventListener('submit', function (e) { e.preventDefault(); save(); });
  form.addEventListener('click', function (e) {
    var add = e.target.closest('[data-add]');
    if (add) {
      var name = add.getAttribute('data-add');
      var row = addRow(name);
      if (name === 'findings') {
        // Seen now, unless the inspector says otherwise.
        row.querySelector('[data-f="seen_at"]').value = localValue(Date.now());
      }
      var first = row.querySelector('input:not([type=hidden]), select, textarea');
      if (first) { first.focus(); }
      changed();
      return;
    }
    var remove = e.target.closest('[data-remove]');
    if (remove) {
      remove.closest('[data-row]').remove();
      changed();
    }
  });
  reloadBtn.addEventListener('click', function () { window.location.reload(); });
  window.addEventListener('online', function () {
    if (!inFlight && !stopped && sentEdits !== edits) { retryDelay = 0; save(); }
  });

  // ---- On load: bring back what this device typed but could not save.
  var local = readLocal();
  if (local) {
    if (local.base >= revision) {
      fill(local.data);
      document.getElementById('restored').hidden = false;
      changed();
    } else {
      // Another device saved since these edits were typed: let the
      // inspector choose rather than overwrite either silently.
      var box = document.getElementById('older-local');
      box.hidden = false;
      document.getElementById('use-local').addEventListener('click', function () {
        box.hidden = true;
        fill(local.data);
        changed();
      });
      document.getElementById('drop-local').addEventListener('click', function () {
        box.hidden = true;
        dropLocal();
      });
    }
  }
  sentEdits = edits === 0 ? 0 : -1;
  updateRates();

  // ---- Finalizing takes what the server has: edits still waiting for
  // the debounced save are saved first, then the minutes are asked for
  // through the API, so that what is missing is shown by its field right
  // here. Without JavaScript the form posts to the page route instead.
  var finalizeForm = document.querySelector('#finalize form');
  function finalize() {
    fetch(api + '/finalize', {
      method: 'POST', credentials: 'same-origin', headers: { 'Accept': 'application/json' }
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) { return { status: r.status, body: body }; });
    }).then(function (res) {
      if (res.status === 202) {
        window.location.href = window.location.pathname + '?hoan-tat=1';
        return;
      }
      var err = res.body && res.body.error;
      showProblems(err ? err.message : 'Chưa hoàn tất được biên bản (HTTP ' + res.status + ').', err && err.problems);
      problemsEl.scrollIntoView();
    }).catch(function () {
      showProblems('Không kết nối được máy chủ; hãy thử lại khi có mạng.', null);
    });
  }
  if (finalizeForm) {
    finalizeForm.addEventListener('submit', function (e) {
      e.preventDefault();
      if (stopped) { return; }
      if (sentEdits === edits && !inFlight) { finalize(); return; }
      setStatus('saving', 'Đang lưu trước khi hoàn tất…');
      save();
      (function wait() {
        var state = statusEl.getAttribute('data-state');
        if (sentEdits === edits && !inFlight && state === 'saved') { finalize(); return; }
        if (stopped || state === 'invalid' || state === 'retry') { return; } // the status says what to do
        setTimeout(wait, 100);
      }());
    });
  }
}());
