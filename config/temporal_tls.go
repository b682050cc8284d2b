package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// TLSEnabled reports whether the connection to Temporal uses TLS: asked for, or implied by a CA, a client
// certificate or an API key (an API key is never sent in the clear).
func (t Temporal) TLSEnabled() bool {
	return t.TLS || t.TLSCA != "" || t.TLSCert != "" || t.APIKey != ""
}

// ClientTLS builds the TLS configuration of the connection to Temporal from the settings, reading and
// checking every file they name; nil when TLS is off. Each error names the setting at fault.
func (t Temporal) ClientTLS() (*tls.Config, error) {
	if (t.TLSCert == "") != (t.TLSKey == "") {
		return nil, errors.New("temporal.tls_cert and temporal.tls_key (AFFRELAY_TEMPORAL_TLS_CERT, AFFRELAY_TEMPORAL_TLS_KEY): set both for mTLS, or neither")
	}
	if !t.TLSEnabled() {
		if t.TLSServerName != "" {
			return nil, errors.New("temporal.tls_server_name (AFFRELAY_TEMPORAL_TLS_SERVER_NAME): set, but TLS is off; set temporal.tls: true")
		}
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.TLSServerName}
	if t.TLSCA != "" {
		pem, err := os.ReadFile(t.TLSCA)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls_ca (AFFRELAY_TEMPORAL_TLS_CA): %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal.tls_ca (AFFRELAY_TEMPORAL_TLS_CA): %s holds no PEM certificate", t.TLSCA)
		}
	}
	if t.TLSCert != "" {
		certPEM, err := os.ReadFile(t.TLSCert)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls_cert (AFFRELAY_TEMPORAL_TLS_CERT): %w", err)
		}
		keyPEM, err := os.ReadFile(t.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls_key (AFFRELAY_TEMPORAL_TLS_KEY): %w", err)
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("temporal.tls_cert / temporal.tls_key (AFFRELAY_TEMPORAL_TLS_CERT, AFFRELAY_TEMPORAL_TLS_KEY): %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
