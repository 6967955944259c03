// Package metrics keeps vanthu's Prometheus metrics: HTTP requests, tasks by
// type and outcome, and queue sizes read from Redis at scrape time. Each
// process has its own Registry; nothing is global.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// QueueSizer reports the number of tasks per queue and state (pending,
// active, scheduled, retry, archived). The worker package implements it with
// asynq's Inspector.
type QueueSizer interface {
	QueueSizes(ctx context.Context) (map[string]map[string]int, error)
}

// Registry holds the metrics of one process.
type Registry struct {
	reg          *prometheus.Registry
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	tasks        *prometheus.CounterVec
	taskDuration *prometheus.HistogramVec
}

// New returns a registry with the Go and process collectors and vanthu's own
// metrics. queues may be nil (a process without Redis).
func New(queues QueueSizer, logger *slog.Logger) *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vanthu_http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vanthu_http_request_duration_seconds",
			Help:    "HTTP request latency by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vanthu_tasks_total",
			Help: "Tasks processed by type and outcome (success, retry, failed).",
		}, []string{"type", "outcome"}),
		taskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vanthu_task_duration_seconds",
			Help:    "Task processing time by type.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
		}, []string{"type"}),
	}
	r.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		r.httpRequests, r.httpDuration, r.tasks, r.taskDuration,
	)
	if queues != nil {
		r.reg.MustRegister(&queueCollector{q: queues, logger: logger})
	}
	return r
}

// Handler serves the metrics in the Prometheus text format.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{})
}

// ObserveRequest records one HTTP request. route is the pattern, never the
// raw path, so that ids in URLs do not explode the label set.
func (r *Registry) ObserveRequest(method, route string, status int, d time.Duration) {
	r.httpRequests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	r.httpDuration.WithLabelValues(method, route).Observe(d.Seconds())
}

// Task outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeRetry   = "retry"
	OutcomeFailed  = "failed" // given up: skip-retry or last attempt
)

// ObserveTask records one processed task.
func (r *Registry) ObserveTask(taskType, outcome string, d time.Duration) {
	r.tasks.WithLabelValues(taskType, outcome).Inc()
	r.taskDuration.WithLabelValues(taskType).Observe(d.Seconds())
}

var queueDesc = prometheus.NewDesc("vanthu_queue_tasks",
	"Tasks in each queue by state, read from Redis at scrape time.",
	[]string{"queue", "state"}, nil)

// queueCollector asks Redis at scrape time, so the figure is the same
// whichever process is scraped.
type queueCollector struct {
	q      QueueSizer
	logger *slog.Logger
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueDesc }

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sizes, err := c.q.QueueSizes(ctx)
	if err != nil {
		if c.logger != nil {
			c.logger.Warn("metrics: queue sizes", slog.String("error", err.Error()))
		}
		return
	}
	for queue, states := range sizes {
		for state, n := range states {
			ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(n), queue, state)
		}
	}
}
