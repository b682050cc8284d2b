package evidence

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/auditchain"
)

// chain returns n sealed rows from the chain's start and the proof of rows [first, last] (1-based) up to the
// last row.
func chain(n int) ([]auditchain.Row, auditchain.Proof) {
	rows := make([]auditchain.Row, n)
	for i := range rows {
		rows[i] = auditchain.Row{Time: bundleTime.Add(time.Duration(i) * time.Second), RequestID: "req_" + string(rune('a'+i)), Method: "GET", Path: "/v1/postbacks", Status: 200}
	}
	head := auditchain.Seal(auditchain.Start, rows)
	p := auditchain.Proof{From: auditchain.Start, To: head}
	for _, r := range rows {
		p.Digests = append(p.Digests, auditchain.Digest(r))
	}
	return rows, p
}

func TestCheckAuditProof(t *testing.T) {
	rows, proof := chain(5)
	trail := func(chainRows []auditchain.Row, p *auditchain.Proof) []byte {
		b, err := json.Marshal(AuditTrail{Rows: []string{}, ChainRows: chainRows, Proof: p})
		require.NoError(t, err)
		return b
	}
	changed := append([]auditchain.Row{}, rows[1], rows[3])
	changed[1].Status = 500
	shortProof := proof
	shortProof.Digests = proof.Digests[:4]
	otherEnd := proof
	otherEnd.To.Hash = auditchain.Genesis
	for _, tc := range []struct {
		name  string
		audit []byte
		rows  int
		err   string
	}{
		{"two rows on the chain", trail([]auditchain.Row{rows[1], rows[3]}, &proof), 2, ""},
		{"no chained rows", trail(nil, nil), 0, ""},
		{"a changed row", trail(changed, &proof), 0, "row 4: its content digest"},
		{"a digest missing", trail([]auditchain.Row{rows[1]}, &shortProof), 0, "needs 5 digests, has 4"},
		{"another end", trail([]auditchain.Row{rows[1]}, &otherEnd), 0, "the digests lead to"},
		{"rows without a proof", trail([]auditchain.Row{rows[1]}, nil), 0, "no proof"},
		{"not JSON", []byte("{"), 0, "audit.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckAuditProof(tc.audit)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.rows, got.Rows)
		})
	}
}

// TestVerifyChecksTheAuditProof: a bundle signed as it should be still fails when its audit rows do not fit
// their chain proof (the operator's log was edited before the bundle was made).
func TestVerifyChecksTheAuditProof(t *testing.T) {
	key := testKey(t, 6)
	rows, proof := chain(3)
	for _, tc := range []struct {
		name    string
		changed bool
	}{{"rows on the chain", false}, {"a row edited in the database", true}} {
		t.Run(tc.name, func(t *testing.T) {
			row := rows[1]
			if tc.changed {
				row.Path = "/v1/admin/deliveries/dlv_other/skip"
			}
			audit, err := json.Marshal(AuditTrail{Rows: []string{}, ChainRows: []auditchain.Row{row}, Proof: &proof})
			require.NoError(t, err)
			bundle, err := Seal(key, "int_1", "ev-1", bundleTime, []File{{AuditPath, audit}}, nil)
			require.NoError(t, err)
			v, err := Verify(bundle, key.Public().(ed25519.PublicKey))
			require.NoError(t, err)
			if tc.changed {
				require.Equal(t, []string{"audit.json: row 2: its content digest " + auditchain.Digest(row) + " is not the proof's " + proof.Digests[1]}, v.Problems)
				return
			}
			require.True(t, v.OK(), v.Problems)
			require.Equal(t, AuditProofResult{Rows: 1, To: proof.To}, v.Audit)
		})
	}
}
