package opscli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/pflag"
)

// auditReport is GET /v1/admin/audit/verify's answer.
type auditReport struct {
	OK         bool         `json:"ok"`
	Rows       int64        `json:"rows_checked"`
	First      int64        `json:"first_seq"`
	Last       int64        `json:"last_seq"`
	Anchor     *auditAnchor `json:"anchor"`
	Head       auditAnchor  `json:"head"`
	Checkpoint string       `json:"checkpoint"`
	Break      *struct {
		ID        uint   `json:"id"`
		Seq       int64  `json:"seq"`
		RequestID string `json:"request_id"`
		Time      string `json:"time"`
		Reason    string `json:"reason"`
	} `json:"break"`
}

type auditAnchor struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// errAuditBroken is returned when the chain does not fit, so a scheduled check exits non-zero.
var errAuditBroken = errors.New("the audit chain does not verify")

func auditVerifyCommand(fs *pflag.FlagSet) func(*op, []string) error {
	from := fs.String("from", "", "first time checked: RFC 3339 or a date (default: the chain's start)")
	to := fs.String("to", "", "end of the range, exclusive: RFC 3339 or a date (default: now)")
	checkpoint := fs.String("checkpoint", "", "a checkpoint copy, <seq>:<hash> as an audit.checkpoint event sent it, that the row at seq must match")
	return func(o *op, args []string) error {
		if len(args) != 0 {
			return errors.New("audit-verify takes no arguments: the range is --from and --to")
		}
		q := url.Values{}
		if *from != "" {
			q.Set("from", *from)
		}
		if *to != "" {
			q.Set("to", *to)
		}
		if *checkpoint != "" {
			q.Set("checkpoint", *checkpoint)
		}
		var raw json.RawMessage
		if err := o.c.call(o.ctx, http.MethodGet, "/v1/admin/audit/verify", q, nil, &raw); err != nil {
			return err
		}
		var r auditReport
		if err := json.Unmarshal(raw, &r); err != nil {
			return err
		}
		if o.json {
			if err := o.printJSON(raw); err != nil {
				return err
			}
		} else {
			o.showAuditReport(r)
		}
		if !r.OK {
			return errAuditBroken
		}
		return nil
	}
}

func (o *op) showAuditReport(r auditReport) {
	out := o.env.Out
	if r.Rows == 0 && r.Break == nil {
		fmt.Fprintln(out, "no audit rows in the range")
	} else {
		from := "the chain's start"
		if r.Anchor != nil && r.Anchor.Seq > 0 {
			from = fmt.Sprintf("position %d (%s)", r.Anchor.Seq, r.Anchor.Hash)
		}
		fmt.Fprintf(out, "checked %d rows, positions %d to %d, from %s\n", r.Rows, r.First, r.Last, from)
	}
	fmt.Fprintf(out, "chain head: position %d, hash %s (compare with the last audit.checkpoint event)\n", r.Head.Seq, r.Head.Hash)
	switch r.Checkpoint {
	case "matches":
		fmt.Fprintln(out, "the row at the checkpoint copy's position matches it")
	case "pruned":
		fmt.Fprintln(out, "the checkpoint copy's row was pruned: nothing left to compare it with")
	}
	if b := r.Break; b != nil {
		fmt.Fprintf(out, "BROKEN at row id %d (position %d, request %s, %s): %s\n", b.ID, b.Seq, b.RequestID, b.Time, b.Reason)
		return
	}
	fmt.Fprintln(out, "ok: every row fits the chain")
}
