package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// TestBrowserInspectionForm drives headless Chromium as an inspector's
// phone (390×844): start a record, type the attendance and two persons in
// violation, see the rates, and see it saved in the store. Then the saves
// fail (503, as a dropped connection would); what is typed meanwhile is kept
// on the phone, comes back after a reload and is then saved. Last, another
// device saves first: the page says so and offers to reload.
func TestBrowserInspectionForm(t *testing.T) {
	chromium := testenv.Chromium(t)
	f := newFixture(t, withInspections)
	units, _ := f.seedUnits()
	ctx := context.Background()

	// The phone reaches the service through this server. While failing is
	// set it answers every save with 503; the next load of a record page
	// ends the outage, so that no retry can slip in before the reload and
	// the reload is what has to bring the typed text back.
	var failing atomic.Bool
	var refused atomic.Int32
	inner := f.srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			switch {
			case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/api/v1/inspections/"):
				refused.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, `{"error":{"code":"unavailable","message":"Mất kết nối."}}`)
				return
			case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/inspections/"):
				failing.Store(false)
			}
		}
		inner.ServeHTTP(w, r)
	}))
	defer ts.Close()

	bctx := newBrowser(t, chromium, 120*time.Second)

	poll := func(what, cond string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](cond, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
			status, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.getElementById('save-status') || {}).textContent || ''`))
			problems, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`(document.getElementById('save-problems') || {}).textContent || ''`))
			t.Fatalf("%s: %v (status %q, problems %q)", what, err, status, problems)
		}
	}
	eval := func(js string) bool {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[bool](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	// typeInto empties a field, then types into it key by key, as a person does.
	typeInto := func(sel, text string) {
		t.Helper()
		eval(fmt.Sprintf(`(function () { document.querySelector(%q).value = ''; return true; })()`, sel))
		if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
			t.Fatalf("type into %s: %v", sel, err)
		}
	}
	// choose picks an option of a select as a tap would, change event included.
	choose := func(sel, value string) {
		t.Helper()
		if !eval(fmt.Sprintf(`(function () {
			const s = document.querySelector(%q);
			s.value = %q;
			s.dispatchEvent(new Event('change', {bubbles: true}));
			return s.value === %q;
		})()`, sel, value, value)) {
			t.Fatalf("%s has no option %s", sel, value)
		}
	}
	const saved = `document.getElementById('save-status').getAttribute('data-state') === 'saved' &&
		document.getElementById('save-status').textContent.startsWith('Đã lưu lúc ')`

	// Log in on the phone and start a record.
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile),
		chromedp.Navigate(ts.URL+"/inspections/new"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "u-inspector"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("form.login button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("new-inspection-form")),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
	choose("#n-unit", fmt.Sprint(units[0].ID))
	typeInto("#n-place", "Trụ sở Sở Tài chính")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("n-create")), chromedp.WaitVisible(chromedp.ID("inspection-form"))); err != nil {
		t.Fatalf("create: %v", err)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	if _, err := fmt.Sscanf(strings.TrimPrefix(loc, ts.URL), "/inspections/%d", &id); err != nil {
		t.Fatalf("landed on %s", loc)
	}
	if !eval(`document.documentElement.scrollWidth <= window.innerWidth`) {
		t.Error("the form is wider than the phone's screen")
	}
	if !eval(`document.getElementById('add-finding').getBoundingClientRect().height >= 44`) {
		t.Error("the add button is not a large touch target")
	}

	// Attendance: the rates follow as the counts are typed.
	for _, c := range []struct {
		name string
		n    int
	}{{"listed", 42}, {"present", 35}, {"absent_leave", 2}, {"absent_assignment", 1}, {"absent_study", 1}, {"absent_unexcused", 2}, {"late", 2}} {
		typeInto(fmt.Sprintf(`input[name="attendance.%s"]`, c.name), fmt.Sprint(c.n))
	}
	poll("rates shown", `document.getElementById('rate-present').textContent === 'Có mặt 35/42 (83,33%)' &&
		document.getElementById('rate-unexcused').textContent === 'Vắng không lý do 2/42 (4,76%)' &&
		document.getElementById('attendance-check').textContent.startsWith('Số có mặt (35) cộng số vắng (6)')`)
	typeInto(`input[name="attendance.absent_unexcused"]`, "3")
	poll("counts add up", `document.getElementById('attendance-check').textContent === 'Số liệu khớp: 35 có mặt + 7 vắng = 42.' &&
		document.getElementById('rate-absent').textContent === 'Vắng 7/42 (16,67%)'`)

	// Two persons in violation: the button adds a row and puts the cursor
	// in its name; the time seen is now.
	row := func(i int) string { return fmt.Sprintf(`[data-list="findings"] > [data-row]:nth-child(%d)`, i) }
	for i, p := range []struct{ name, section, violation string }{
		{"Nguyễn Văn Thưởng", "Phòng Kế hoạch", "ruou-bia"},
		{"Lê Thị Hoà", "Bộ phận một cửa", "khong-deo-the"},
	} {
		if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("add-finding"))); err != nil {
			t.Fatal(err)
		}
		if !eval(fmt.Sprintf(`document.activeElement === document.querySelector('%s [data-f="name"]')`, row(i+1))) {
			t.Fatalf("finding %d: the name field is not focused", i+1)
		}
		if !eval(fmt.Sprintf(`document.querySelector('%s [data-f="seen_at"]').value.length === 16`, row(i+1))) {
			t.Fatalf("finding %d: no time seen by default", i+1)
		}
		if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(row(i+1)+` [data-f="name"]`), p.name)); err != nil {
			t.Fatal(err)
		}
		typeInto(row(i+1)+` [data-f="section"]`, p.section)
		choose(row(i+1)+` [data-f="violation"]`, p.violation)
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`[data-list="checklist"] > [data-row]:nth-child(3) input[value="khong-dat"]`))); err != nil {
		t.Fatal(err)
	}
	poll("saved", saved)
	in, err := f.st.GetInspection(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := vanthu.Attendance{Listed: 42, Present: 35, AbsentLeave: 2, AbsentAssignment: 1, AbsentStudy: 1, AbsentUnexcused: 3, Late: 2}
	if in.Attendance != want || len(in.Findings) != 2 || in.Place != "Trụ sở Sở Tài chính" || in.UnitID != units[0].ID {
		t.Fatalf("stored %+v", in)
	}
	for i, w := range []struct{ name, violation string }{{"Nguyễn Văn Thưởng", "ruou-bia"}, {"Lê Thị Hoà", "khong-deo-the"}} {
		fd := in.Findings[i]
		if fd.Name != w.name || fd.Violation != w.violation || fd.SeenAt == nil || time.Since(*fd.SeenAt) > 5*time.Minute {
			t.Errorf("finding %d stored as %+v", i, fd)
		}
	}
	if in.Checklist[2].Result != vanthu.CheckFail {
		t.Errorf("checklist stored as %+v", in.Checklist)
	}

	// The connection drops: saves fail, the page says it will retry, and
	// what is typed stays on the phone.
	failing.Store(true)
	conclusion := "Đơn vị cần chấn chỉnh kỷ luật, kỷ cương hành chính."
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(`textarea[name="conclusions"]`), conclusion)); err != nil {
		t.Fatal(err)
	}
	poll("save fails", `document.getElementById('save-status').getAttribute('data-state') === 'retry' &&
		document.getElementById('save-status').textContent === 'Chưa lưu được — sẽ thử lại'`)
	if refused.Load() == 0 {
		t.Fatal("no save reached the failing server")
	}
	if !eval(fmt.Sprintf(`(localStorage.getItem('vanthu.inspection.%d') || '').includes(%q)`, id, conclusion)) {
		t.Fatal("the typed text is not kept in localStorage")
	}
	if got, _ := f.st.GetInspection(ctx, id); got.Conclusions != "" {
		t.Fatalf("stored during the outage: %q", got.Conclusions)
	}

	// Reload once the server is back: the text is restored, then saved.
	if err := chromedp.Do(bctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("inspection-form"))); err != nil {
		t.Fatalf("reload: %v", err)
	}
	poll("restored", fmt.Sprintf(`!document.getElementById('restored').hidden &&
		document.getElementById('restored').textContent === 'Đã khôi phục nội dung chưa lưu' &&
		document.querySelector('textarea[name="conclusions"]').value === %q &&
		document.querySelectorAll('[data-list="findings"] > [data-row]').length === 2`, conclusion))
	poll("saved after restore", saved)
	got, err := f.st.GetInspection(ctx, id)
	if err != nil || got.Conclusions != conclusion || len(got.Findings) != 2 || got.Attendance != want {
		t.Fatalf("after restore stored %+v %v", got, err)
	}
	if !eval(fmt.Sprintf(`localStorage.getItem('vanthu.inspection.%d') === null`, id)) {
		t.Error("the local copy outlived the save")
	}

	// Another device saves first: this one is told, and offered a reload.
	other := got
	other.Place = "Hội trường Sở Tài chính"
	if err := f.st.SaveInspection(ctx, &other, "thiet-bi-khac"); err != nil {
		t.Fatal(err)
	}
	typeInto(`input[name="place"]`, "Phòng họp số 2")
	poll("conflict", `document.getElementById('save-status').getAttribute('data-state') === 'conflict' &&
		document.getElementById('save-status').textContent === 'Thiết bị khác vừa lưu biên bản này' &&
		!document.getElementById('reload').hidden`)
	if got, _ := f.st.GetInspection(ctx, id); got.Place != "Hội trường Sở Tài chính" {
		t.Fatalf("the stale save overwrote the other device's: %q", got.Place)
	}
}
