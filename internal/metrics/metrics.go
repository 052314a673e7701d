// Package metrics is a roam server's Prometheus metrics, in a registry of
// its own (never the global default one).
//
// Names follow what AWS publishes for IAM Roles Anywhere in CloudWatch: the
// Success and Failure metrics with the dimensions Operation, TrustAnchorArn
// and ErrorType become roam_rolesanywhere_success_total{operation,
// trust_anchor_arn} and roam_rolesanywhere_failure_total{operation,
// trust_anchor_arn, error_type}. The rest is roam's own: request latency,
// configuration snapshot age, audit queue, database health. Labels never
// carry certificate serials, subjects or anything a client chooses freely:
// a trust anchor ARN is a label only when it names an anchor the server
// has, and operations and error types come from fixed sets.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Sources are the values read at scrape time. Nil fields leave their
// metrics out.
type Sources struct {
	// SnapshotAge returns the time since the configuration snapshot was
	// last confirmed current, and false while there is none.
	SnapshotAge func() (time.Duration, bool)
	// Database reports the database's health as the server's probes last
	// saw it (scrapes never query the database themselves).
	Database func() DatabaseHealth
	// AuditQueueDepth, AuditQueueCapacity, AuditDropped and
	// AuditWriteFailures read the audit recorder.
	AuditQueueDepth    func() int
	AuditQueueCapacity func() int
	AuditDropped       func() int64
	AuditWriteFailures func() int64
}

// DatabaseHealth is the database's health for the metrics.
type DatabaseHealth struct {
	// Up: the last probe succeeded.
	Up bool
	// SinceContact is the time since the database last answered.
	SinceContact time.Duration
	// FailedClosed: the grace time is over and requests are refused.
	FailedClosed bool
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Metrics is one server's metrics. Its methods are safe on a nil *Metrics
// (they do nothing), so callers need not check whether metrics are on.
type Metrics struct {
	reg      *prometheus.Registry
	success  *prometheus.CounterVec
	failure  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns the metrics of one server in a new registry, with the Go
// runtime and process collectors.
func New(src Sources) (*Metrics, error) {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		success: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roam_rolesanywhere_success_total",
			Help: "Successful requests (AWS Roles Anywhere's Success metric), by operation and trust anchor ARN (empty for operations without one).",
		}, []string{"operation", "trust_anchor_arn"}),
		failure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roam_rolesanywhere_failure_total",
			Help: "Failed requests (AWS Roles Anywhere's Failure metric), by operation, trust anchor ARN (empty when the request named none the server has) and error type (the AWS error code).",
		}, []string{"operation", "trust_anchor_arn", "error_type"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roam_request_duration_seconds",
			Help:    "Time to answer a request, by operation and outcome (success, failure).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16), // 100µs … 3.3s
		}, []string{"operation", "outcome"}),
	}
	cs := []prometheus.Collector{m.success, m.failure, m.duration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})}
	if f := src.SnapshotAge; f != nil {
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roam_snapshot_age_seconds",
			Help: "Seconds since the configuration snapshot CreateSession reads was last confirmed current (-1 before the first).",
		}, func() float64 {
			d, ok := f()
			if !ok {
				return -1
			}
			return d.Seconds()
		}))
	}
	if f := src.Database; f != nil {
		cs = append(cs,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "roam_database_up",
				Help: "1 if the server's last database health probe succeeded, 0 if not.",
			}, func() float64 { return b2f(f().Up) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "roam_database_last_contact_age_seconds",
				Help: "Seconds since the database last answered a health probe.",
			}, func() float64 { return f().SinceContact.Seconds() }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "roam_database_failed_closed",
				Help: "1 while the database has been unreachable for longer than the grace time and requests are answered 503.",
			}, func() float64 { return b2f(f().FailedClosed) }))
	}
	gauge := func(name, help string, f func() int) {
		if f != nil {
			cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return float64(f()) }))
		}
	}
	counter := func(name, help string, f func() int64) {
		if f != nil {
			cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(f()) }))
		}
	}
	gauge("roam_audit_queue_depth", "Audit events queued for writing (CreateSession outcomes).", src.AuditQueueDepth)
	gauge("roam_audit_queue_capacity", "The audit queue's bound; events beyond it are dropped.", src.AuditQueueCapacity)
	counter("roam_audit_dropped_total", "Audit events dropped because the queue was full or a sink kept failing.", src.AuditDropped)
	counter("roam_audit_write_failures_total", "Audit sink writes that failed (and were retried, or failed the request for control-plane changes).", src.AuditWriteFailures)
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// Registry returns the registry, for registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Success counts a successful operation (e.g. "CreateSession",
// "iam:CreateRole") through trustAnchorARN ("" for none).
func (m *Metrics) Success(operation, trustAnchorARN string) {
	if m == nil {
		return
	}
	m.success.WithLabelValues(operation, trustAnchorARN).Inc()
}

// Failure counts a failed operation with its AWS error code.
func (m *Metrics) Failure(operation, trustAnchorARN, errorType string) {
	if m == nil {
		return
	}
	m.failure.WithLabelValues(operation, trustAnchorARN, errorType).Inc()
}

// Observe records how long an operation took; ok is its outcome.
func (m *Metrics) Observe(operation string, ok bool, d time.Duration) {
	if m == nil {
		return
	}
	outcome := "failure"
	if ok {
		outcome = "success"
	}
	m.duration.WithLabelValues(operation, outcome).Observe(d.Seconds())
}
