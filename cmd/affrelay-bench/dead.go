package main

import (
	"context"
	"fmt"
	"time"

	"github.com/affrelay/affrelay/store"
)

// measureDead sends events to an affiliate whose receiver is down and measures affrelay's memory while their
// deliveries wait for the next attempt of the retry schedule.
func measureDead(o options, p *affrelayProcess, recv *receiver) (*deadResult, error) {
	port, err := freePort() // nothing listens there: every attempt is refused
	if err != nil {
		return nil, err
	}
	t, err := setupTenant(p.base, p.admin, fmt.Sprintf("http://127.0.0.1:%d", port))
	if err != nil {
		return nil, err
	}
	db, err := store.Open(o.database, p.dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	res := &deadResult{Events: o.dead}
	rss := watchRSS(p.pid())
	start := time.Now()
	newSender(p.base, t, fmt.Sprintf("dead-%d", start.UnixNano())).closedLoop(o.concurrency, o.dead)
	deadline := time.Now().Add(o.drain)
	for res.Waiting < int64(o.dead) && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		if res.Waiting, err = db.AttemptedDeliveries(context.Background(), t.affiliateID); err != nil {
			return nil, err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	// Keep watching a little while they wait, then read the peak.
	time.Sleep(5 * time.Second)
	res.PeakRSSMB = rss.stop()
	return res, nil
}
