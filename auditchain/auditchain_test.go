package auditchain

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleRows(n int) []Row {
	rows := make([]Row, n)
	t0 := time.Date(2026, 12, 1, 1, 2, 3, 456789000, time.UTC)
	for i := range rows {
		rows[i] = Row{Time: t0.Add(time.Duration(i) * time.Millisecond), RequestID: "req_" + string(rune('a'+i)),
			IntegrationID: "int_1", KeyID: "key_1", Method: "GET", Path: "/v1/postbacks", Status: 200, LatencyMicros: int64(100 + i), ClientIP: "127.0.0.1"}
	}
	return rows
}

func TestCanonical(t *testing.T) {
	r := Row{Seq: 7, Time: time.Date(2026, 12, 1, 2, 3, 4, 5_000, time.FixedZone("x", 3600)), RequestID: "req_1",
		IntegrationID: "int_<1>&", Method: "POST", Path: "/v1/postbacks", Status: 202, LatencyMicros: 12, ClientIP: "::1"}
	assert.Equal(t, `["affrelay.audit.v1",7,"2026-12-01T01:03:04.000005Z","req_1","int_<1>&","","POST","/v1/postbacks",202,12,"::1"]`, string(Canonical(r)))
	// Links and hashes are not content.
	r2 := r
	r2.PrevHash, r2.Hash = "x", "y"
	assert.Equal(t, Digest(r), Digest(r2))
}

func TestSealThenCheck(t *testing.T) {
	rows := sampleRows(5)
	head := Seal(Start, rows[:2])
	head = Seal(head, rows[2:]) // a second batch continues the first
	assert.Equal(t, int64(5), head.Seq)
	assert.Equal(t, rows[4].Hash, head.Hash)
	assert.Equal(t, Genesis, rows[0].PrevHash)
	got, br := Check(Start, rows)
	require.Nil(t, br)
	assert.Equal(t, head, got)
	// A sub-range checks from the anchor before it.
	_, br = Check(Anchor{Seq: 2, Hash: rows[1].Hash}, rows[2:])
	assert.Nil(t, br)
}

func TestCheckFindsTheFirstRowThatDoesNotFit(t *testing.T) {
	cases := []struct {
		name   string
		change func([]Row) []Row
		index  int
		seq    int64
		reason string
	}{
		{"content edited", func(r []Row) []Row { r[2].Status = 500; return r }, 2, 3, "hash of its content"},
		{"time edited", func(r []Row) []Row { r[1].Time = r[1].Time.Add(time.Microsecond); return r }, 1, 2, "hash of its content"},
		{"edited and rehashed", func(r []Row) []Row {
			r[2].Path = "/other"
			r[2].Hash = Link(r[2].PrevHash, Digest(r[2]))
			return r
		}, 3, 4, "previous hash"},
		{"row deleted", func(r []Row) []Row { return append(r[:1], r[2:]...) }, 1, 3, "missing"},
		{"rows swapped", func(r []Row) []Row { r[1], r[2] = r[2], r[1]; return r }, 1, 3, "follows"},
		{"first link changed", func(r []Row) []Row { r[0].PrevHash = strings.Repeat("1", 64); return r }, 0, 1, "previous hash"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows := sampleRows(5)
			Seal(Start, rows)
			_, br := Check(Start, c.change(rows))
			require.NotNil(t, br)
			assert.Equal(t, c.index, br.Index)
			assert.Equal(t, c.seq, br.Seq)
			assert.Contains(t, br.Reason, c.reason)
		})
	}
}

func TestVerifyProof(t *testing.T) {
	rows := sampleRows(6)
	head := Seal(Start, rows)
	from := Anchor{Seq: 1, Hash: rows[0].Hash}
	var digests []string
	for _, r := range rows[1:] {
		digests = append(digests, Digest(r))
	}
	proof := Proof{From: from, To: head, Digests: digests}
	require.NoError(t, VerifyProof(proof, []Row{rows[2], rows[4]}))

	cases := []struct {
		name   string
		change func(*Proof, []Row) []Row
		err    string
	}{
		{"row edited", func(p *Proof, r []Row) []Row { r[0].ClientIP = "10.0.0.1"; return r }, "content digest"},
		{"checkpoint differs", func(p *Proof, r []Row) []Row { p.To.Hash = Genesis; return r }, "lead to"},
		{"digest missing", func(p *Proof, r []Row) []Row { p.Digests = p.Digests[1:]; return r }, "needs 5 digests"},
		{"row outside", func(p *Proof, r []Row) []Row { return []Row{rows[0]} }, "outside the proof"},
		{"digest changed", func(p *Proof, r []Row) []Row { p.Digests[4] = Genesis; return nil }, "lead to"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := proof
			p.Digests = append([]string(nil), proof.Digests...)
			err := VerifyProof(p, c.change(&p, []Row{rows[2], rows[4]}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.err)
		})
	}
}

func TestParseAnchor(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	cases := []struct {
		in   string
		want Anchor
		err  string
	}{
		{"12:" + hash, Anchor{Seq: 12, Hash: hash}, ""},
		{"12:" + strings.ToUpper(hash), Anchor{Seq: 12, Hash: hash}, ""},
		{"12", Anchor{}, "not <seq>:<hash>"},
		{"0:" + hash, Anchor{}, "positive integer"},
		{"-3:" + hash, Anchor{}, "positive integer"},
		{"x:" + hash, Anchor{}, "positive integer"},
		{"12:abc", Anchor{}, "64 hex digits"},
		{"12:" + hash + "00", Anchor{}, "64 hex digits"},
	}
	for _, c := range cases {
		got, err := ParseAnchor(c.in)
		if c.err != "" {
			assert.ErrorContains(t, err, c.err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, got)
	}
}

func FuzzParseAnchor(f *testing.F) {
	f.Add("12:" + strings.Repeat("ab", 32))
	f.Add("1:")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAnchor(s)
		if err != nil {
			return
		}
		again, err := ParseAnchor(strconv.FormatInt(a.Seq, 10) + ":" + a.Hash)
		if err != nil || again != a {
			t.Fatalf("%q parsed as %+v, which does not read back (%v)", s, a, err)
		}
	})
}

// BenchmarkSeal is the hashing an audit row adds to its INSERT: its canonical encoding and two SHA-256.
func BenchmarkSeal(b *testing.B) {
	rows := sampleRows(1)
	head := Start
	b.ReportAllocs()
	for b.Loop() {
		head = Seal(head, rows)
	}
}
