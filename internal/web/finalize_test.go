package web_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sonoivu/vanthu"
	"github.com/sonoivu/vanthu/internal/testenv"
)

// TestFinalizeInspection: an incomplete record is refused with its missing
// fields and nothing is queued; a complete one queues the minutes (once per
// request, for inspectors only); a finalized one is a conflict; the page's
// button goes back to the record, which says the minutes are being made.
func TestFinalizeInspection(t *testing.T) {
	f := newFixture(t, withInspections)
	units, _ := f.seedUnits()
	ctx := context.Background()

	incomplete := f.createInspection(inspectionJSON(units[0].ID, ""))
	resp := f.json("POST", fmt.Sprintf("/api/v1/inspections/%d/finalize", incomplete.ID), "", bearer(vanthu.RoleInspector))
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if got := problemFields(decode[apiError](t, resp)); !slices.Equal(got, []string{"report_deadline"}) {
		t.Errorf("problems of a record without a report-back deadline: %v", got)
	}
	if f.jobs.finalizeCalls() != nil {
		t.Fatal("an incomplete record was queued")
	}

	complete := f.createInspection(inspectionJSON(units[1].ID, `,"report_deadline":"2026-12-05T00:00:00+07:00"`))
	path := fmt.Sprintf("/api/v1/inspections/%d/finalize", complete.ID)
	wantStatus(t, f.json("POST", path, "", bearer(vanthu.RoleViewer)), http.StatusForbidden)
	wantStatus(t, f.json("POST", path, "", bearer(vanthu.RoleClerk)), http.StatusForbidden)
	wantStatus(t, f.json("POST", path, "", bearer(vanthu.RoleInspector)), http.StatusAccepted)
	if got := f.jobs.finalizeCalls(); !slices.Equal(got, []int64{complete.ID}) {
		t.Fatalf("queued %v, want [%d]", got, complete.ID)
	}

	// The page's button: back to the record, which says it is being made.
	resp = f.do("POST", fmt.Sprintf("/inspections/%d/finalize", complete.ID), nil, session(vanthu.RoleInspector), "Sec-Fetch-Site", "same-origin")
	wantStatus(t, resp, http.StatusSeeOther)
	page := bodyString(t, f.do("GET", resp.Header.Get("Location"), nil, session(vanthu.RoleInspector)))
	if !strings.Contains(page, `id="finalizing"`) || strings.Contains(page, `id="finalize-button"`) {
		t.Errorf("record after asking for the minutes:\n%.3000s", page)
	}
	// The page's button on an incomplete record lists what is missing.
	resp = f.do("POST", fmt.Sprintf("/inspections/%d/finalize", incomplete.ID), nil, session(vanthu.RoleInspector), "Sec-Fetch-Site", "same-origin")
	wantStatus(t, resp, http.StatusUnprocessableEntity)
	if b := bodyString(t, resp); !strings.Contains(b, "Nhập hạn đơn vị báo cáo kết quả khắc phục.") {
		t.Errorf("refusal page lacks the missing field:\n%.3000s", b)
	}

	// Finalized (as the task does): a conflict, nothing queued.
	d := f.createDraft(draftJSON("Biên bản", nil, nil))
	if err := f.st.MarkInspectionFinalized(ctx, complete.ID, d.ID, "test"); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, f.json("POST", path, "", bearer(vanthu.RoleInspector)), http.StatusConflict)
	if got := f.jobs.finalizeCalls(); len(got) != 2 {
		t.Errorf("queued %v after the conflict, want the two earlier requests only", got)
	}
}

// TestBrowserFinalizeSavesFirst: the inspector types and presses the
// finalize button at once; the edit is saved before the minutes are asked
// for, so the minutes are made from what was typed.
func TestBrowserFinalizeSavesFirst(t *testing.T) {
	chromium := testenv.Chromium(t)
	f := newFixture(t, withInspections)
	units, _ := f.seedUnits()
	in := f.createInspection(inspectionJSON(units[0].ID, `,"report_deadline":"2026-12-05T00:00:00+07:00"`))
	var mu sync.Mutex
	var seen string // the conclusions stored when the minutes were asked for
	f.jobs.onFinalize = func(id int64) {
		got, err := f.st.GetInspection(context.Background(), id)
		mu.Lock()
		defer mu.Unlock()
		seen = got.Conclusions
		if err != nil {
			seen = err.Error()
		}
	}
	bctx := newBrowser(t, chromium, 90*time.Second)
	if err := chromedp.Do(bctx,
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile),
		chromedp.Navigate(fmt.Sprintf("%s/inspections/%d", f.http.URL, in.ID)),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "u-inspector"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.CSS("form.login button[type=submit]")),
		chromedp.WaitVisible(chromedp.ID("finalize-button")),
		// Type, then press at once: well inside the autosave's delay.
		chromedp.SendKeys(chromedp.CSS(`textarea[name="conclusions"]`), " Bổ sung tại chỗ."),
		chromedp.Click(chromedp.ID("finalize-button")),
		chromedp.WaitVisible(chromedp.ID("finalizing")),
	); err != nil {
		t.Fatalf("finalize from the page: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(seen, "Bổ sung tại chỗ.") || !strings.Contains(seen, "Cơ bản chấp hành tốt.") {
		t.Errorf("conclusions stored when the minutes were asked for = %q, want the typed addition", seen)
	}
	if got := f.jobs.finalizeCalls(); !slices.Equal(got, []int64{in.ID}) {
		t.Errorf("minutes asked for %v, want [%d]", got, in.ID)
	}

	// An incomplete record: the missing field is shown on the form itself,
	// and nothing is asked for.
	incomplete := f.createInspection(inspectionJSON(units[1].ID, ""))
	if err := chromedp.Do(bctx,
		chromedp.Navigate(fmt.Sprintf("%s/inspections/%d", f.http.URL, incomplete.ID)),
		chromedp.WaitVisible(chromedp.ID("finalize-button")),
	); err != nil {
		t.Fatalf("open an incomplete record: %v", err)
	}
	// The page's script (deferred) handles the button once loaded.
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.readyState === 'complete'`, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.ID("finalize-button"))); err != nil {
		t.Fatalf("finalize an incomplete record: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`!document.getElementById('save-problems').hidden`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		st, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('save-status').textContent + ' | ' + location.href`))
		t.Fatalf("no problems shown: %v (%s)", err, st)
	}
	shown, _ := chromedp.Run(bctx, chromedp.Text(chromedp.ID("save-problems")))
	marked, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector('[name="report_deadline"]').closest('.invalid') !== null`))
	if !strings.Contains(shown, "Nhập hạn đơn vị báo cáo kết quả khắc phục.") || !marked {
		t.Errorf("problems shown = %q, deadline field marked %v", shown, marked)
	}
	if got := f.jobs.finalizeCalls(); len(got) != 1 {
		t.Errorf("minutes asked for %v after the refusal", got)
	}
}
