package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/infra"
	"github.com/affrelay/affrelay/service/conversions"
	"github.com/affrelay/affrelay/service/integrations"
	"github.com/affrelay/affrelay/store"
)

// BenchmarkDuplicatePostback measures the inbound path for a postback already recorded — key lookup, IP
// allowlist, rate limit, signature, parsing, dedup and the audit row — without Temporal, on SQLite.
func BenchmarkDuplicatePostback(b *testing.B) {
	for _, signed := range []bool{false, true} {
		name := "unsigned"
		if signed {
			name = "hmac-sha256"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s, err := store.Open("sqlite", filepath.Join(b.TempDir(), "bench.db"))
			require.NoError(b, err)
			require.NoError(b, s.Migrate(ctx))
			defer s.Close()
			svc := &integrations.Service{Store: s}
			const key = "ak_benchmark_key_0123456789"
			in, err := svc.CreateIntegrationWithKey(ctx, "bench", key)
			require.NoError(b, err)
			require.NoError(b, s.DB.Create(&store.Conversion{ID: "cnv_1", IntegrationID: in.ID, EventID: "evt-1", Event: "registration"}).Error)
			_, err = svc.SetInboundSecurity(ctx, in.ID, store.InboundSecurity{
				SignatureScheme: store.SchemeHMACSHA256, IPAllowlist: "192.0.2.0/24", RateLimitRPS: 1e9, RateLimitBurst: 1e6,
			})
			require.NoError(b, err)
			secret := ""
			if signed {
				sec, err := svc.AddSigningSecret(ctx, in.ID, nil)
				require.NoError(b, err)
				secret = sec.Secret
			}
			logger := slog.New(slog.NewTextHandler(io.Discard, nil))
			audit := infra.NewAuditLog(s, logger, 4096)
			defer audit.Close()
			h := New(Options{
				Integrations: svc, Conversions: &conversions.Service{Store: s}, MaxBodyBytes: 1 << 20, Postback: config.Postback{FutureSkew: time.Minute},
				Security: config.Security{RateLimitRPS: 1, RateLimitBurst: 1, SignatureTolerance: time.Minute},
				Audit:    audit, Logger: logger,
			})
			query := "event_id=evt-1&event=registration&timestamp=" + strconv.FormatInt(time.Now().Unix(), 10)
			if signed {
				mac := hmac.New(sha256.New, []byte(secret))
				mac.Write([]byte(query))
				query += "&signature=" + hex.EncodeToString(mac.Sum(nil))
			}
			b.ResetTimer()
			for b.Loop() {
				req := httptest.NewRequest("GET", "/v1/postbacks?"+query, nil)
				req.RemoteAddr = "192.0.2.10:40000"
				req.Header.Set("X-API-Key", key)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}
