package server

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	reconsvc "github.com/affrelay/affrelay/service/reconciliation"
	"github.com/affrelay/affrelay/signing"
)

// signedIntegration has one active signing secret and counts how often the handlers look it up.
type signedIntegration struct {
	fakeIntegrations
	secret  string
	lookups int
}

func (f *signedIntegration) ActiveSecrets(context.Context, string, time.Time) ([]string, error) {
	f.lookups++
	return []string{f.secret}, nil
}

type fakeReconciliation struct {
	Reconciliation
	files []string
}

// Submit reads the file as the service does and accepts it only when its signature checks out.
func (f *fakeReconciliation) Submit(_ context.Context, file reconsvc.File) (reconsvc.Accepted, error) {
	body, err := io.ReadAll(file.Body)
	if err != nil {
		return reconsvc.Accepted{}, err
	}
	if file.Verify != nil {
		if err := file.Verify(); err != nil {
			return reconsvc.Accepted{}, err
		}
	}
	f.files = append(f.files, string(body))
	return reconsvc.Accepted{BatchID: "rcb_1", WorkflowID: "reconciliation:rcb_1"}, nil
}

// A signed upload looks up the integration's secrets once, and still refuses a signature none of them made.
func TestSignedUploadLooksUpTheSecretsOnce(t *testing.T) {
	body := "date,player_id,ngr,currency\n2026-11-01,p1,10.00,EUR\n"
	secret := signing.NewSecret()
	key, err := signing.DecodeSecret(secret)
	require.NoError(t, err)
	now := time.Now()
	for _, tc := range []struct {
		name      string
		signature string
		status    int
	}{
		{"signed", signing.SignatureHeader([][]byte{key}, "msg_1", now, []byte(body)), http.StatusAccepted},
		{"signed by another secret", signing.SignatureHeader([][]byte{[]byte("another key of 32 bytes, at least")}, "msg_1", now, []byte(body)), http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			integ := &signedIntegration{secret: secret}
			recon := &fakeReconciliation{}
			h := newTestHandler(Options{Integrations: integ, Reconciliation: recon, ReconciliationMaxBytes: 1 << 20})
			w := serve(h, http.MethodPost, "/v1/reconciliation/batches", body, map[string]string{
				"X-API-Key": "ak_test", "Content-Type": "text/csv",
				signing.HeaderID: "msg_1", signing.HeaderTimestamp: strconv.FormatInt(now.Unix(), 10), signing.HeaderSignature: tc.signature,
			})
			require.Equal(t, tc.status, w.Code, w.Body.String())
			require.Equal(t, 1, integ.lookups)
			if tc.status == http.StatusAccepted {
				require.Equal(t, []string{body}, recon.files)
			} else {
				require.Empty(t, recon.files)
			}
		})
	}
}
