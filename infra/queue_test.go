package infra

import "testing"

func TestQueueAlarmFiresOnceAndClearsOnce(t *testing.T) {
	a := QueueAlarm{Threshold: 100}
	steps := []struct {
		depth          int64
		fired, cleared bool
	}{
		{0, false, false},
		{99, false, false},
		{100, true, false},
		{250, false, false},
		{100, false, false},
		{99, false, true},
		{5, false, false},
		{101, true, false},
	}
	for i, s := range steps {
		fired, cleared := a.Observe(s.depth)
		if fired != s.fired || cleared != s.cleared {
			t.Fatalf("step %d depth %d: fired=%v cleared=%v, want %v %v", i, s.depth, fired, cleared, s.fired, s.cleared)
		}
	}
}
