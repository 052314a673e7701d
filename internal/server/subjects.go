package server

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/roam-project/roam/internal/store"
)

// subjectBatcher writes subject sightings in batches, off the request path,
// merging repeats within a batch (see pendingSightings). When its queue is
// full, sightings are dropped and counted: auditing must never slow
// CreateSession down.
type subjectBatcher struct {
	st      store.Store
	log     *slog.Logger
	q       chan store.SubjectSighting
	dropped atomic.Int64
}

const (
	// subjectQueueLen bounds the sightings queued between two drains: at
	// one drain every subjectDrainEvery it absorbs 160,000 sightings/s.
	subjectQueueLen = 8192
	// subjectDrainEvery is how often the queue is emptied into the pending
	// batch. The batcher wakes only then, not for every sighting, so that
	// recording costs CreateSession one channel send and no goroutine
	// wake-up.
	subjectDrainEvery = 50 * time.Millisecond
	// subjectBatchMax is the most rows (merged sightings) a batch writes;
	// a batch is written when it is full or every subjectFlushEvery.
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
	t := time.NewTicker(subjectDrainEvery)
	defer t.Stop()
	var p pendingSightings
	lastWrite := time.Now()
	// Writes must not fail because shutdown began while a batch was being
	// written: what was taken from the queue would be lost.
	wctx := context.WithoutCancel(ctx)
	for {
		select {
		case <-ctx.Done():
			b.write(wctx, &p)
			return
		case now := <-t.C:
			b.drain(wctx, &p)
			if now.Sub(lastWrite) >= subjectFlushEvery {
				b.write(wctx, &p)
				lastWrite = now
			}
		}
	}
}

// drain moves the queued sightings into p, writing p whenever it is full.
func (b *subjectBatcher) drain(ctx context.Context, p *pendingSightings) {
	for {
		select {
		case s := <-b.q:
			p.add(s)
			if p.len() >= subjectBatchMax {
				b.write(ctx, p)
			}
		default:
			return
		}
	}
}

// flush writes whatever is still queued.
func (b *subjectBatcher) flush(ctx context.Context) {
	var p pendingSightings
	b.drain(ctx, &p)
	b.write(ctx, &p)
}

// write stores the pending sightings, if any, and empties p.
func (b *subjectBatcher) write(ctx context.Context, p *pendingSightings) {
	batch := p.take()
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

// pendingSightings collects the sightings of one batch, merging repeats: a
// sighting of the same subject, serial, issuer and outcome as an earlier one
// in the batch adds its Count to that one and moves its SeenAt forward
// instead of becoming another row to write. A fleet re-authenticating
// through the same certificates is mostly repeats, so a batch writes about
// one row per active certificate and outcome, whatever the request rate.
//
// What the store records is the same as without merging, except that a
// credential first seen in a batch gets the batch's latest sighting as its
// first-seen time: first- and last-seen times are exact to within one batch
// (subjectFlushEvery), seen counts and the latest outcome are exact.
// Sightings with instance properties are never merged (each is recorded).
type pendingSightings struct {
	list []store.SubjectSighting
	idx  map[sightingKey]int // index in list of mergeable sightings
}

// sightingKey is what makes two sightings mergeable.
type sightingKey struct {
	subject, serial, issuer string
	failed                  bool
}

// add merges s into the batch.
func (p *pendingSightings) add(s store.SubjectSighting) {
	s.Count = max(s.Count, 1)
	if len(s.InstanceProperties) > 0 {
		p.list = append(p.list, s)
		return
	}
	k := sightingKey{subject: s.X509Subject, serial: s.SerialNumber, issuer: s.Issuer, failed: s.Failed}
	if i, ok := p.idx[k]; ok {
		e := &p.list[i]
		e.Count += s.Count
		switch {
		case e.SeenAt.IsZero() || s.SeenAt.IsZero():
			e.SeenAt = time.Time{} // "now" at write time, the latest of all
		case s.SeenAt.After(e.SeenAt):
			e.SeenAt = s.SeenAt
		}
		if len(s.Certificate) > 0 {
			e.Certificate = s.Certificate
		}
		return
	}
	if p.idx == nil {
		p.idx = make(map[sightingKey]int)
	}
	p.idx[k] = len(p.list)
	p.list = append(p.list, s)
}

// len returns the number of rows the batch would write.
func (p *pendingSightings) len() int { return len(p.list) }

// take returns the batch and empties p. The result is valid until the next
// add.
func (p *pendingSightings) take() []store.SubjectSighting {
	batch := p.list
	p.list = p.list[:0]
	clear(p.idx)
	return batch
}
