package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Report is what a run measured, and every difference it found (Problems; none means it passed).
type Report struct {
	Database    string  `json:"database"`
	Temporal    string  `json:"temporal"`
	Events      int     `json:"events"`
	Rate        float64 `json:"rate"`
	LoadSeconds float64 `json:"load_s"`

	EventsSent             int   `json:"events_sent"`
	EventsSentMoreThanOnce int   `json:"events_sent_more_than_once"`
	CopiesSent             int   `json:"copies_sent"`
	Requests               int64 `json:"requests"`
	SenderRetries          int64 `json:"sender_retries"`
	Acknowledged           int   `json:"acknowledged"`
	AckedRequests          int   `json:"acked_requests"`
	Accepted               int64 `json:"accepted"`
	DuplicatesRefused      int64 `json:"duplicates_refused"`
	Conversions            int   `json:"conversions"`

	LedgerTotal         int64 `json:"ledger_total_minor"`
	ExpectedLedgerTotal int64 `json:"expected_ledger_total_minor"`

	Deliveries int64            `json:"deliveries"`
	Attempts   int64            `json:"attempts"`
	Receivers  []receiverReport `json:"receivers"`

	Faults []faultRecord `json:"faults"`
	// SelfExits counts affrelay processes that ended by themselves and were started again (a supervisor's job).
	SelfExits              int     `json:"self_exits"`
	ConvergeAfterLastFault float64 `json:"converge_after_last_fault_s"`
	ConvergeAfterLastSend  float64 `json:"converge_after_last_send_s"`

	LoadBefore string   `json:"load_before"`
	LoadAfter  string   `json:"load_after"`
	Problems   []string `json:"problems"`
}

type receiverReport struct {
	Name string `json:"name"`
	receiverFigures
}

// Print writes the figures and the verdict for people.
func (rep *Report) Print(w io.Writer) {
	kills := map[string]int{}
	for _, f := range rep.Faults {
		kills[f.Kind]++
	}
	fmt.Fprintf(w, "\n== chaos run: %d events at %g/s on %s, Temporal %s (load average %s before, %s after)\n",
		rep.Events, rep.Rate, rep.Database, rep.Temporal, rep.LoadBefore, rep.LoadAfter)
	fmt.Fprintf(w, "events sent            %d (%d of them two or more times: %d copies), %d requests with %d sender retries, load %.0fs\n",
		rep.EventsSent, rep.EventsSentMoreThanOnce, rep.CopiesSent, rep.Requests, rep.SenderRetries, rep.LoadSeconds)
	fmt.Fprintf(w, "acknowledged           %d events (%d accepted answers, %d duplicates refused)\n", rep.Acknowledged, rep.Accepted, rep.DuplicatesRefused)
	fmt.Fprintf(w, "conversions            %d\n", rep.Conversions)
	fmt.Fprintf(w, "ledger                 %s (expected %s)\n", formatMinor(rep.LedgerTotal), formatMinor(rep.ExpectedLedgerTotal))
	fmt.Fprintf(w, "deliveries             %d, %d attempts stored\n", rep.Deliveries, rep.Attempts)
	for _, rc := range rep.Receivers {
		fmt.Fprintf(w, "receiver %-13s %d calls, %d failures injected, %d calls repeated an id, %d repeated successes (same id)\n",
			rc.Name, rc.Calls, rc.FailuresInjected, rc.RepeatedCalls, rc.RepeatedDeliveries)
	}
	fmt.Fprintf(w, "faults                 %d worker kills, %d API kills, %d Temporal kills, %d PostgreSQL restarts; %d processes ended by themselves and were started again\n",
		kills["worker"], kills["api"], kills["temporal"], kills["postgres"], rep.SelfExits)
	for _, f := range rep.Faults {
		fmt.Fprintf(w, "  %-8s %-36s at %6.1fs, down %4.1fs, ready after %4.1fs %s\n", f.Kind, f.Target, f.At, f.Down, f.Recovery, f.Error)
	}
	fmt.Fprintf(w, "converged              %.1fs after the last fault, %.1fs after the last send\n", rep.ConvergeAfterLastFault, rep.ConvergeAfterLastSend)
	if len(rep.Problems) == 0 {
		fmt.Fprintln(w, "RESULT: PASS — nothing acknowledged lost, nothing recorded, paid or delivered twice, nothing left pending")
		return
	}
	fmt.Fprintf(w, "RESULT: FAIL — %d problems:\n  %s\n", len(rep.Problems), strings.Join(rep.Problems, "\n  "))
}

// JSON is the report as one line.
func (rep *Report) JSON() string {
	b, _ := json.Marshal(rep)
	return string(b)
}
