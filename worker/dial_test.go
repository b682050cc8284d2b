package worker

import (
	"crypto/tls"
	"log/slog"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/affrelay/affrelay/config"
	"github.com/affrelay/affrelay/internal/testcert"
)

// TestDialSecuredFrontend dials a gRPC server on 127.0.0.1 that, like a secured Temporal frontend, speaks
// TLS only and requires a client certificate from its CA. It answers the health check SERVING and every other
// call Unimplemented (the SDK then treats it as an old server), and records the calls' authorization headers.
func TestDialSecuredFrontend(t *testing.T) {
	serverCert, serverKey, _ := testcert.SelfSigned(t, "frontend")
	clientCert, clientKey, clientCA := testcert.SelfSigned(t, "worker")
	cert, err := tls.LoadX509KeyPair(serverCert, serverKey)
	require.NoError(t, err)

	var mu sync.Mutex
	var calls []string
	var auth []string
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewTLS(&tls.Config{
			Certificates: []tls.Certificate{cert}, ClientCAs: clientCA, ClientAuth: tls.RequireAndVerifyClientCert,
		})),
		grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
			method, _ := grpc.MethodFromServerStream(stream)
			md, _ := metadata.FromIncomingContext(stream.Context())
			mu.Lock()
			calls = append(calls, method)
			auth = append(auth, md.Get("authorization")...)
			mu.Unlock()
			if method == "/grpc.health.v1.Health/Check" {
				if err := stream.RecvMsg(&healthpb.HealthCheckRequest{}); err != nil {
					return err
				}
				return stream.SendMsg(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING})
			}
			return status.Error(codes.Unimplemented, "unknown method "+method)
		}),
	)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	settings := config.Temporal{
		Address: ln.Addr().String(), Namespace: "affrelay.acct", TLSCA: serverCert,
		TLSCert: clientCert, TLSKey: clientKey, APIKey: "test-api-key",
	}
	c, err := Dial(settings, slog.New(slog.DiscardHandler), Observe{})
	require.NoError(t, err)
	c.Close()
	mu.Lock()
	require.NotEmpty(t, calls, "the client reached the frontend over mTLS")
	require.Contains(t, auth, "Bearer test-api-key")
	mu.Unlock()

	// Without the client certificate the handshake fails, and Dial says where it tried to connect.
	settings.TLSCert, settings.TLSKey = "", ""
	_, err = Dial(settings, slog.New(slog.DiscardHandler), Observe{})
	require.ErrorContains(t, err, "connect to Temporal at "+ln.Addr().String())
}
