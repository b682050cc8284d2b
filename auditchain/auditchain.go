// Package auditchain is the tamper-evident shape of the audit log: the canonical encoding of an audit row, the
// SHA-256 hash chain that links each row to the one before it, and the checks that recompute it. It does no
// I/O; the store assigns the links inside the insert transaction, and verification reads rows from it.
//
// A row's hash is SHA-256(previous row's hash ‖ SHA-256(canonical encoding of the row)), both as raw 32
// bytes; hashes are written as lower-case hex. The first row links to Genesis. Because the content enters the
// chain only through its digest, a proof that a row leads to a checkpoint needs the digests of the rows in
// between, not their contents.
package auditchain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Genesis is the previous hash of the chain's first row.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// encodingVersion opens every canonical encoding, so a later change of the fields is a new version.
const encodingVersion = "affrelay.audit.v1"

// TimeLayout is how a row's time enters the encoding: UTC, microseconds, the precision both databases keep.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Row is the chained content of one audit row, with its position and links.
type Row struct {
	Seq           int64 // position in the chain, from 1, without gaps
	Time          time.Time
	RequestID     string
	IntegrationID string
	KeyID         string
	Method        string
	Path          string
	Status        int
	LatencyMicros int64
	ClientIP      string
	PrevHash      string
	Hash          string
}

// Anchor is a known point of the chain: the hash of the row at Seq (Seq 0 is Genesis).
type Anchor struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// Start is the anchor before the chain's first row.
var Start = Anchor{Seq: 0, Hash: Genesis}

// Canonical is the row's encoding that the chain hashes: a JSON array, without spaces or HTML escaping,
// ["affrelay.audit.v1", seq, time, request_id, integration_id, key_id, method, path, status, latency_micros,
// client_ip].
func Canonical(r Row) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	// Encoding strings and integers does not fail.
	_ = enc.Encode([]any{encodingVersion, r.Seq, r.Time.UTC().Format(TimeLayout), r.RequestID, r.IntegrationID,
		r.KeyID, r.Method, r.Path, r.Status, r.LatencyMicros, r.ClientIP})
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

// Digest is the hex SHA-256 of the row's canonical encoding.
func Digest(r Row) string {
	sum := sha256.Sum256(Canonical(r))
	return hex.EncodeToString(sum[:])
}

// Link is the hash of a row whose content digest is digest and whose predecessor's hash is prev. A hash that
// is not 64 hex digits links as its raw text, so a damaged value gives a wrong hash rather than an error.
func Link(prev, digest string) string {
	h := sha256.New()
	h.Write(hexOrRaw(prev))
	h.Write(hexOrRaw(digest))
	return hex.EncodeToString(h.Sum(nil))
}

func hexOrRaw(s string) []byte {
	if b, err := hex.DecodeString(s); err == nil && len(b) == sha256.Size {
		return b
	}
	return []byte(s)
}

// Seal numbers rows after head and links each to the one before: it sets Seq, PrevHash and Hash, and returns
// the new head.
func Seal(head Anchor, rows []Row) Anchor {
	for i := range rows {
		rows[i].Seq = head.Seq + 1
		rows[i].PrevHash = head.Hash
		rows[i].Hash = Link(head.Hash, Digest(rows[i]))
		head = Anchor{Seq: rows[i].Seq, Hash: rows[i].Hash}
	}
	return head
}

// Break is the first row that does not fit the chain: its index in the rows checked, its position, and what
// differs.
type Break struct {
	Index  int
	Seq    int64
	Reason string
}

// Check walks rows, which must follow from (the anchor just before them) in chain order, and returns the new
// head, or the first row that does not fit. A row fits when it comes next (no row missing), its PrevHash is
// the hash before it, and its Hash is what its content and PrevHash give.
func Check(from Anchor, rows []Row) (Anchor, *Break) {
	head := from
	for i, r := range rows {
		if r.Seq != head.Seq+1 {
			return head, &Break{Index: i, Seq: r.Seq, Reason: fmt.Sprintf("position %d follows %d: rows %d to %d are missing", r.Seq, head.Seq, head.Seq+1, r.Seq-1)}
		}
		if r.PrevHash != head.Hash {
			return head, &Break{Index: i, Seq: r.Seq, Reason: fmt.Sprintf("previous hash %s is not the hash before it, %s", r.PrevHash, head.Hash)}
		}
		if want := Link(r.PrevHash, Digest(r)); r.Hash != want {
			return head, &Break{Index: i, Seq: r.Seq, Reason: fmt.Sprintf("stored hash %s is not the hash of its content, %s: the row was changed after it was written", r.Hash, want)}
		}
		head = Anchor{Seq: r.Seq, Hash: r.Hash}
	}
	return head, nil
}

// Proof shows that some rows lie on the chain between From and To: Digests holds the content digest of every
// row from From.Seq+1 to To.Seq in order, so anyone holding the rows and a copy of To (a checkpoint) can
// recompute the links.
type Proof struct {
	From    Anchor   `json:"from"`
	To      Anchor   `json:"to"`
	Digests []string `json:"digests"`
}

// VerifyProof checks that the proof's digests lead from From to To and that each row in rows (with its
// chained fields) is the one at its position.
func VerifyProof(p Proof, rows []Row) error {
	if want := p.To.Seq - p.From.Seq; want != int64(len(p.Digests)) {
		return fmt.Errorf("proof from %d to %d needs %d digests, has %d", p.From.Seq, p.To.Seq, want, len(p.Digests))
	}
	for _, r := range rows {
		i := r.Seq - p.From.Seq - 1
		if i < 0 || i >= int64(len(p.Digests)) {
			return fmt.Errorf("row %d is outside the proof (%d to %d)", r.Seq, p.From.Seq+1, p.To.Seq)
		}
		if d := Digest(r); d != p.Digests[i] {
			return fmt.Errorf("row %d: its content digest %s is not the proof's %s", r.Seq, d, p.Digests[i])
		}
	}
	h := p.From.Hash
	for _, d := range p.Digests {
		h = Link(h, d)
	}
	if h != p.To.Hash {
		return fmt.Errorf("the digests lead to %s, not to the hash %s at %d", h, p.To.Hash, p.To.Seq)
	}
	return nil
}

// ParseAnchor reads an anchor written as "<seq>:<hash>" (a checkpoint copy as audit.checkpoint sent it): seq a
// positive integer, hash 64 lower- or upper-case hex digits (kept lower-case).
func ParseAnchor(s string) (Anchor, error) {
	seqText, hash, ok := strings.Cut(s, ":")
	if !ok {
		return Anchor{}, fmt.Errorf("%q is not <seq>:<hash>", s)
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil || seq < 1 {
		return Anchor{}, fmt.Errorf("position %q is not a positive integer", seqText)
	}
	b, err := hex.DecodeString(hash)
	if err != nil || len(b) != sha256.Size {
		return Anchor{}, fmt.Errorf("hash %q is not 64 hex digits", hash)
	}
	return Anchor{Seq: seq, Hash: hex.EncodeToString(b)}, nil
}
