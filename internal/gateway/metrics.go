package gateway

import "github.com/prometheus/client_golang/prometheus"

// metrics are the gateway's Prometheus metrics.
type metrics struct {
	decisions      *prometheus.CounterVec
	certRejections *prometheus.CounterVec
	reloads        *prometheus.CounterVec
	backendErrors  *prometheus.CounterVec
	duration       *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roam_gateway_decisions_total",
			Help: "Authorization decisions by route, authorization mode, decision (allow, deny) and reason.",
		}, []string{"route", "authorization", "decision", "reason"}),
		certRejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roam_gateway_client_certificate_rejections_total",
			Help: "Client certificates refused, by route, reason (missing, expired, untrusted, revoked, invalid) and stage (handshake, http).",
		}, []string{"route", "reason", "stage"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roam_gateway_reloads_total",
			Help: "File reloads by route, kind (server-certificate, trust-bundle) and result (ok, error).",
		}, []string{"route", "kind", "result"}),
		backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roam_gateway_backend_errors_total",
			Help: "Requests the backend could not answer, by route.",
		}, []string{"route"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "roam_gateway_request_duration_seconds",
			Help:    "Time from request to the end of the backend response for allowed requests, by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}, []string{"route"}),
	}
	for _, c := range []prometheus.Collector{m.decisions, m.certRejections, m.reloads, m.backendErrors, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
