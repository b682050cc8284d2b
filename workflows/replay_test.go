package workflows

import (
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
)

// TestReplayRecordedHistories replays every recorded history (testdata/histories/<WorkflowType>/*.json, written
// by e2e's TestRecordHistories against the real dev server) with today's workflow code. A change that would
// make a running workflow take a different path — a new or reordered activity, timer or child without
// workflow.GetVersion — fails here. Histories recorded with older code (prefix "before-<change>_") stay, so
// each versioned change keeps replaying the workflows that started before it.
func TestReplayRecordedHistories(t *testing.T) {
	replayer := worker.NewWorkflowReplayer()
	types := map[string]bool{}
	for _, wf := range All {
		replayer.RegisterWorkflow(wf)
		name := runtime.FuncForPC(reflect.ValueOf(wf).Pointer()).Name()
		types[name[strings.LastIndex(name, ".")+1:]] = true
	}
	logger := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	for typ := range types {
		files, err := filepath.Glob(filepath.Join("testdata", "histories", typ, "*.json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Errorf("%s has no recorded history in testdata/histories/%s/ (see docs/replay-tests.md)", typ, typ)
		}
		for _, f := range files {
			t.Run(typ+"/"+filepath.Base(f), func(t *testing.T) {
				if err := replayer.ReplayWorkflowHistoryFromJSONFile(logger, f); err != nil {
					t.Fatalf("replaying %s: %v", f, err)
				}
			})
		}
	}
	dirs, err := os.ReadDir(filepath.Join("testdata", "histories"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !types[d.Name()] {
			t.Errorf("testdata/histories/%s is not a workflow type in All", d.Name())
		}
	}
}
