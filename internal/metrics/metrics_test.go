package metrics

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fakeQueues map[string]map[string]int

func (f fakeQueues) QueueSizes(context.Context) (map[string]map[string]int, error) { return f, nil }

func TestExposition(t *testing.T) {
	r := New(fakeQueues{"default": {"pending": 3, "retry": 1}}, nil)
	r.ObserveRequest("GET", "GET /api/v1/units", 200, 15*time.Millisecond)
	r.ObserveTask("mail:test", OutcomeSuccess, time.Second)
	r.ObserveTask("mail:test", OutcomeRetry, time.Second)
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`vanthu_http_requests_total{method="GET",route="GET /api/v1/units",status="200"} 1`,
		`vanthu_tasks_total{outcome="success",type="mail:test"} 1`,
		`vanthu_tasks_total{outcome="retry",type="mail:test"} 1`,
		`vanthu_queue_tasks{queue="default",state="pending"} 3`,
		`vanthu_queue_tasks{queue="default",state="retry"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %s", want)
		}
	}
}
