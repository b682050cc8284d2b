package main

import (
	"context"
	"fmt"
	"time"

	"github.com/affrelay/affrelay/internal/stack"
	"github.com/affrelay/affrelay/store"
)

// measureDead sends events to an affiliate whose receiver is down and measures affrelay's memory while their
// deliveries wait for the next attempt of the retry schedule.
func measureDead(o options, p *affrelayProcess, recv *receiver) (*deadResult, error) {
	port, err := stack.FreePort() // nothing listens there: every attempt is refused
	if err != nil {
		return nil, err
	}
	t, err := setupTenant(p.base, p.admin, fmt.Sprintf("http://127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	res := &deadResult{Events: o.dead}
	rss := watchRSS(p.PID())
	start := time.Now()
	newSender(p.base, t, fmt.Sprintf("dead-%d", start.UnixNano())).closedLoop(o.concurrency, o.dead)
	deadline := time.Now().Add(o.drain)
	for res.Waiting < int64(o.dead) && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		if res.Waiting, err = attemptedDeliveries(o.database, p.dsn, t.affiliateID); err != nil {
			return nil, err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	// Keep watching a little while they wait, then read the peak.
	time.Sleep(5 * time.Second)
	res.PeakRSSMB = rss.stop()
	return res, nil
}

// attemptedDeliveries counts on a fresh connection each time: a long-lived SQLite reader was seen to keep
// reading an old snapshot while affrelay wrote.
func attemptedDeliveries(driver, dsn, affiliateID string) (int64, error) {
	db, err := store.Open(driver, dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	return db.AttemptedDeliveries(context.Background(), affiliateID)
}
