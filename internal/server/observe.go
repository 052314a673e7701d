package server

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/roam-project/roam/internal/audit"
	"github.com/roam-project/roam/internal/metrics"
)

// openObservability builds the audit recorder (the store, and the
// JSON-lines sink cfg.AuditFile names: a file, or "-" for stdout) and the
// server's metrics registry.
func (s *Server) openObservability() error {
	sinks := []audit.Sink{audit.NewStoreSink(s.store)}
	switch f := s.cfg.AuditFile; f {
	case "":
	case "-":
		sinks = append(sinks, audit.NewWriterSink(os.Stdout))
	default:
		fs, err := audit.OpenFile(f)
		if err != nil {
			return err
		}
		sinks = append(sinks, fs)
	}
	s.audit = audit.NewRecorder(audit.Options{Logger: s.log}, sinks...)
	m, err := metrics.New(metrics.Sources{
		SnapshotAge:        s.snapshotAge,
		Database:           s.databaseHealth,
		AuditQueueDepth:    s.audit.QueueDepth,
		AuditQueueCapacity: s.audit.QueueCapacity,
		AuditDropped:       s.audit.Dropped,
		AuditWriteFailures: s.audit.WriteFailures,
	})
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	s.metrics = m
	return nil
}

// confirmSnapshot notes, when *err is nil, that a reload found the snapshot
// current (or made it so). reload defers it.
func (s *Server) confirmSnapshot(err *error) {
	if *err == nil {
		s.snapConfirmed.Store(time.Now().UnixNano())
	}
}

// snapshotAge is the time since a reload last confirmed the snapshot.
func (s *Server) snapshotAge() (time.Duration, bool) {
	at := s.snapConfirmed.Load()
	if at == 0 || s.sessions == nil || s.sessions.Snapshot() == nil {
		return 0, false
	}
	return time.Since(time.Unix(0, at)), true
}

// databaseHealth reports the database as the health probes last saw it.
func (s *Server) databaseHealth() metrics.DatabaseHealth {
	h := s.health.status()
	return metrics.DatabaseHealth{Up: h.Err == nil, SinceContact: time.Since(h.LastContact), FailedClosed: h.FailedClosed}
}

// Audit returns the server's audit recorder.
func (s *Server) Audit() *audit.Recorder { return s.audit }

// flushAudit writes the queued audit events at shutdown.
func (s *Server) flushAudit(ctx context.Context) {
	if s.audit == nil {
		return
	}
	if err := s.audit.Flush(ctx); err != nil {
		s.log.Error("audit events not written at shutdown", "queued", s.audit.QueueDepth(), "err", err)
	}
}
