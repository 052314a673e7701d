package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconnection backoff of WatchConfig.
const (
	watchMinBackoff = 100 * time.Millisecond
	watchMaxBackoff = 5 * time.Second
)

// WatchConfig returns a channel that receives the new config version after
// every config change committed through any Store on this database (each
// mutation's transaction notifies NotifyChannel with its version). Values may
// be coalesced: a slow reader gets the latest. The watch holds one dedicated
// connection, outside the pool, LISTENing; if it breaks, the watch reconnects
// with exponential backoff (100 ms to 5 s, jittered) and then sends the current
// version, since notifications sent meanwhile are lost. The channel is closed
// once ctx ends. The error is for a watch that could not start at all.
func (s *Store) WatchConfig(ctx context.Context) (<-chan int64, error) {
	conn, err := s.listen(ctx)
	if err != nil {
		return nil, fmt.Errorf("watch config: %w", err)
	}
	ch := make(chan int64, 1)
	go s.watch(ctx, conn, ch)
	return ch, nil
}

// listen opens a dedicated connection with the pool's settings and LISTENs
// on NotifyChannel.
func (s *Store) listen(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", s.dsn, err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+NotifyChannel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("listen: %w", err)
	}
	return conn, nil
}

// watch delivers notifications from conn to ch until ctx ends, reconnecting
// when the connection breaks.
func (s *Store) watch(ctx context.Context, conn *pgx.Conn, ch chan int64) {
	defer close(ch)
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	backoff := watchMinBackoff
	for {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff/2 + rand.N(backoff/2+1)):
			}
			backoff = min(2*backoff, watchMaxBackoff)
			c, err := s.listen(ctx)
			if err != nil {
				continue
			}
			var v int64
			if err := c.QueryRow(ctx, `SELECT version FROM config_version WHERE id = 1`).Scan(&v); err != nil {
				c.Close(context.WithoutCancel(ctx))
				continue
			}
			conn, backoff = c, watchMinBackoff
			offer(ch, v)
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			conn.Close(context.WithoutCancel(ctx))
			conn = nil
			continue
		}
		v, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			continue // not ours: only versions are sent on the channel
		}
		offer(ch, v)
	}
}

// offer puts v in ch (capacity 1), replacing a value the reader has not taken
// yet. It never blocks: ch has one sender.
func offer(ch chan int64, v int64) {
	for {
		select {
		case ch <- v:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}
