package opscli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/spf13/pflag"

	"github.com/affrelay/affrelay/evidence"
)

// evidenceCommand downloads an event's evidence bundle and checks it against the server's public key.
func evidenceCommand(fs *pflag.FlagSet) func(*op, []string) error {
	out := fs.StringP("output", "o", "", "the file to write the bundle to (required)")
	return func(o *op, args []string) error {
		if len(args) != 2 {
			return errors.New("name the integration and the event: affrelay ops evidence <integration> <event_id> -o bundle.zip")
		}
		if *out == "" {
			return errors.New("-o is required: the file to write the bundle to")
		}
		path := "/v1/admin/conversions/" + url.PathEscape(args[0]) + "/" + url.PathEscape(args[1]) + "/evidence"
		bundle, err := o.c.do(o.ctx, http.MethodGet, path, nil, nil, 1<<30)
		if err != nil {
			return err
		}
		pemText, err := o.c.do(o.ctx, http.MethodGet, "/v1/admin/evidence/public-key", nil, nil, 64<<10)
		if err != nil {
			return err
		}
		// Checked before it is written: a bundle that does not verify here would not verify for the affiliate.
		v, err := verifyBundle(bundle, pemText)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, bundle, 0o600); err != nil {
			return err
		}
		if o.json {
			return o.printJSON(v.Manifest)
		}
		fmt.Fprintf(o.env.Out, "wrote %s (%d bytes): %d files signed by key %s\n", *out, len(bundle), len(v.Manifest.Files), v.Manifest.SigningKey.Fingerprint)
		for _, m := range v.Manifest.Missing {
			fmt.Fprintf(o.env.Out, "missing: %s: %s\n", m.Item, m.Reason)
		}
		return nil
	}
}

// evidenceVerifyCommand checks a bundle against a public key, with no API.
func evidenceVerifyCommand(fs *pflag.FlagSet) func(*op, []string) error {
	keyFile := fs.String("public-key", "", "the operator's public key: PEM, as GET /v1/admin/evidence/public-key serves it (required)")
	return func(o *op, args []string) error {
		if len(args) != 1 {
			return errors.New("name one bundle: affrelay ops evidence-verify bundle.zip --public-key key.pem")
		}
		if *keyFile == "" {
			return errors.New("--public-key is required: the operator's published key (PEM)")
		}
		pemText, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		bundle, err := os.ReadFile(args[0])
		if err != nil {
			return err
		}
		v, err := verifyBundle(bundle, pemText)
		if err != nil {
			return err
		}
		if o.json {
			return o.printJSON(v.Manifest)
		}
		m := v.Manifest
		fmt.Fprintf(o.env.Out, "verified: %s of event %s of integration %s, made %s; %d files, signed by key %s\n",
			m.Format, m.EventID, m.IntegrationID, m.CreatedAt.Format("2006-01-02T15:04:05Z"), len(m.Files), m.SigningKey.Fingerprint)
		if v.Audit.Rows > 0 {
			fmt.Fprintf(o.env.Out, "audit: %d rows are on the audit chain up to row %d, hash %s (compare with the operator's audit.checkpoint)\n",
				v.Audit.Rows, v.Audit.To.Seq, v.Audit.To.Hash)
		}
		for _, miss := range m.Missing {
			fmt.Fprintf(o.env.Out, "missing: %s: %s\n", miss.Item, miss.Reason)
		}
		return nil
	}
}

// errNotVerified: the bundle does not verify (it was changed, or another key signed it).
var errNotVerified = errors.New("the bundle does NOT verify")

// verifyBundle checks bundle against the PEM public key; an error lists every problem.
func verifyBundle(bundle, pemText []byte) (evidence.Verification, error) {
	pub, err := evidence.ParsePublicKey(pemText)
	if err != nil {
		return evidence.Verification{}, fmt.Errorf("public key: %w", err)
	}
	v, err := evidence.Verify(bundle, pub)
	if err != nil {
		return v, err
	}
	if !v.OK() {
		msg := ""
		for _, p := range v.Problems {
			msg += "\n  " + p
		}
		return v, fmt.Errorf("%w:%s", errNotVerified, msg)
	}
	return v, nil
}
