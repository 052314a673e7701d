package server

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/roam-project/roam/internal/store"
)

// subjectBatcher writes subject sightings in batches, off the request path.
// When its queue is full, sightings are dropped and counted: auditing must
// never slow CreateSession down.
type subjectBatcher struct {
	st      store.Store
	log     *slog.Logger
	q       chan store.SubjectSighting
	dropped atomic.Int64
}

const (
	subjectQueueLen   = 8192
	subjectBatchMax   = 512
	subjectFlushEvery = 500 * time.Millisecond
)

func newSubjectBatcher(st store.Store, log *slog.Logger) *subjectBatcher {
	return &subjectBatcher{st: st, log: log, q: make(chan store.SubjectSighting, subjectQueueLen)}
}

// add queues a sighting without blocking.
func (b *subjectBatcher) add(s store.SubjectSighting) {
	select {
	case b.q <- s:
	default:
		b.dropped.Add(1)
	}
}

// run writes batches until ctx is done.
func (b *subjectBatcher) run(ctx context.Context) {
	t := time.NewTicker(subjectFlushEvery)
	defer t.Stop()
	batch := make([]store.SubjectSighting, 0, subjectBatchMax)
	for {
		select {
		case <-ctx.Done():
			b.write(context.WithoutCancel(ctx), batch)
			return
		case s := <-b.q:
			batch = append(batch, s)
			if len(batch) >= subjectBatchMax {
				b.write(ctx, batch)
				batch = batch[:0]
			}
		case <-t.C:
			b.write(ctx, batch)
			batch = batch[:0]
		}
	}
}

// flush writes whatever is still queued.
func (b *subjectBatcher) flush(ctx context.Context) {
	var batch []store.SubjectSighting
	for {
		select {
		case s := <-b.q:
			batch = append(batch, s)
		default:
			b.write(ctx, batch)
			return
		}
	}
}

func (b *subjectBatcher) write(ctx context.Context, batch []store.SubjectSighting) {
	if len(batch) == 0 {
		return
	}
	if err := b.st.UpsertSubjects(ctx, batch); err != nil {
		b.log.Error("recording subjects failed", "count", len(batch), "err", err)
	}
	if n := b.dropped.Swap(0); n > 0 {
		b.log.Warn("subject sightings dropped: queue full", "count", n)
	}
}
