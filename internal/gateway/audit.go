package gateway

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/roam-project/roam/internal/audit"
	"github.com/roam-project/roam/internal/store"
)

// AuditConfig sends every decision to the audit log, besides the slog line
// and the metrics: to the roam server's store (store: true, the database of
// the store section), and/or to a JSON-lines file ("-" for stdout). Events
// are queued and written in batches off the request path; a full queue
// drops (and counts) events rather than slow requests down.
type AuditConfig struct {
	Store bool   `yaml:"store"`
	File  string `yaml:"file"`
}

// gatewayAudit is the gateway's audit recorder and the store handle it
// writes through.
type gatewayAudit struct {
	rec *audit.Recorder
	st  store.Store
}

// openAudit builds the recorder cfg.Audit asks for, or returns nil.
func openAudit(ctx context.Context, cfg *Config, g *Gateway) (*gatewayAudit, error) {
	ac := cfg.Audit
	if ac == nil || (!ac.Store && ac.File == "") {
		return nil, nil
	}
	ga := &gatewayAudit{}
	var sinks []audit.Sink
	if ac.Store {
		if cfg.Store == nil {
			return nil, fmt.Errorf("audit: store: true needs the store section")
		}
		if err := checkStoreDB(cfg.Store); err != nil {
			return nil, fmt.Errorf("audit: store: %w", err)
		}
		st, err := openStore(ctx, cfg.Store)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		ga.st = st
		sinks = append(sinks, audit.NewStoreSink(st))
	}
	switch ac.File {
	case "":
	case "-":
		sinks = append(sinks, audit.NewWriterSink(os.Stdout))
	default:
		f, err := audit.OpenFile(ac.File)
		if err != nil {
			ga.close()
			return nil, err
		}
		sinks = append(sinks, f)
	}
	ga.rec = audit.NewRecorder(audit.Options{Logger: g.log}, sinks...)
	return ga, nil
}

func (ga *gatewayAudit) close() {
	if ga == nil {
		return
	}
	ga.rec.Close()
	if ga.st != nil {
		ga.st.Close()
	}
}

// flush writes the queued events at shutdown.
func (ga *gatewayAudit) flush(ctx context.Context) error {
	if ga == nil {
		return nil
	}
	return ga.rec.Flush(ctx)
}

// record queues the audit event of decision d (result "allow" or "deny").
func (rs *routeServer) recordDecision(r *http.Request, reqID string, d decision, result string) {
	ga := rs.g.audit
	if ga == nil {
		return
	}
	e := audit.Event{
		AuditEvent: store.AuditEvent{
			Time: time.Now(), RequestID: reqID, SourceIP: r.RemoteAddr, Principal: d.principal,
			Action: d.operation, Outcome: store.OutcomeAllowed, Reason: d.reason,
		},
		Detail: audit.Detail{Route: rs.cfg.Name, Authorization: rs.cfg.Authorization, Method: r.Method, Path: r.URL.Path,
			Resources: d.resources},
	}
	switch {
	case len(d.actions) > 0:
		e.Action = d.actions[0] // the IAM action evaluated (s3:GetObject, api:…)
	case e.Action == "":
		e.Action = "gateway:" + r.Method
	}
	if len(d.resources) > 0 {
		e.Resource = d.resources[0]
	}
	if result != "allow" {
		e.Outcome, e.ErrorCode, e.Detail.Status = store.OutcomeDenied, d.code, d.status
		if d.status >= 500 {
			e.Outcome = store.OutcomeError
		}
		if d.message != "" {
			e.Reason = d.reason + ": " + d.message
		}
	}
	ga.rec.Record(e)
}
