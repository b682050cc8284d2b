package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var bundleTime = time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)

func testKey(t *testing.T, seedByte byte) ed25519.PrivateKey {
	t.Helper()
	k, err := ParseSigningKey(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{seedByte}, 32)))
	require.NoError(t, err)
	return k
}

var testFiles = []File{
	{"request.json", []byte(`{"method":"GET"}`)},
	{"conversion.json", []byte(`{"id":"cnv_1"}`)},
	{"histories/conversion_int_1_ev-1/run-1.json", []byte(`{"events":[]}`)},
	{"summary.html", []byte("<html></html>")},
}

// unzipped returns the archive's files by name, in archive order.
func unzipped(t *testing.T, bundle []byte) ([]string, map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	require.NoError(t, err)
	var names []string
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		names = append(names, f.Name)
		out[f.Name] = b
	}
	return names, out
}

// rezip writes files in the order of names.
func rezip(t *testing.T, names []string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		require.NoError(t, err)
		_, err = w.Write(files[n])
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func TestSealThenVerify(t *testing.T) {
	key := testKey(t, 1)
	missing := []Missing{{Item: "history delivery:dlv_1", Reason: "Temporal no longer retains it"}}
	bundle, err := Seal(key, "int_1", "ev-1", bundleTime, testFiles, missing)
	require.NoError(t, err)

	v, err := Verify(bundle, key.Public().(ed25519.PublicKey))
	require.NoError(t, err)
	require.True(t, v.OK(), v.Problems)
	require.Equal(t, BundleFormat, v.Manifest.Format)
	require.Equal(t, "ev-1", v.Manifest.EventID)
	require.Equal(t, missing, v.Manifest.Missing)
	require.Len(t, v.Manifest.Files, len(testFiles))
	require.Equal(t, Fingerprint(key.Public().(ed25519.PublicKey)), v.Manifest.SigningKey.Fingerprint)

	names, files := unzipped(t, bundle)
	require.Equal(t, []string{"request.json", "conversion.json", "histories/conversion_int_1_ev-1/run-1.json", "summary.html",
		ManifestPath, SignaturePath}, names)
	require.Len(t, files[SignaturePath], ed25519.SignatureSize)

	again, err := Seal(key, "int_1", "ev-1", bundleTime, testFiles, missing)
	require.NoError(t, err)
	require.Equal(t, bundle, again, "the same content gives the same archive")
}

// TestVerifyFindsEveryChangedByte changes one byte of each file in turn (the first, a middle and the last),
// and checks that Verify names that file.
func TestVerifyFindsEveryChangedByte(t *testing.T) {
	key := testKey(t, 2)
	pub := key.Public().(ed25519.PublicKey)
	bundle, err := Seal(key, "int_1", "ev-1", bundleTime, testFiles, nil)
	require.NoError(t, err)
	names, files := unzipped(t, bundle)
	for _, name := range names {
		for _, at := range []int{0, len(files[name]) / 2, len(files[name]) - 1} {
			t.Run(name, func(t *testing.T) {
				changed := map[string][]byte{}
				for n, b := range files {
					changed[n] = append([]byte{}, b...)
				}
				changed[name][at] ^= 0x01
				v, err := Verify(rezip(t, names, changed), pub)
				require.NoError(t, err)
				require.False(t, v.OK())
				require.Contains(t, strings.Join(v.Problems, "\n"), name)
			})
		}
	}
}

func TestVerifyProblems(t *testing.T) {
	key := testKey(t, 3)
	pub := key.Public().(ed25519.PublicKey)
	bundle, err := Seal(key, "int_1", "ev-1", bundleTime, testFiles, nil)
	require.NoError(t, err)
	names, files := unzipped(t, bundle)
	without := func(drop string) []string {
		var out []string
		for _, n := range names {
			if n != drop {
				out = append(out, n)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		bundle func() []byte
		pub    ed25519.PublicKey
		want   string
	}{
		{"another key", func() []byte { return bundle }, testKey(t, 4).Public().(ed25519.PublicKey), "manifest.sig: not a signature of manifest.json by this key"},
		{"a file removed", func() []byte { return rezip(t, without("request.json"), files) }, pub, "request.json: listed in the manifest but not in the archive"},
		{"a file added", func() []byte {
			files["extra.json"] = []byte("{}")
			defer delete(files, "extra.json")
			return rezip(t, append(append([]string{}, names...), "extra.json"), files)
		}, pub, "extra.json: in the archive but not in the manifest"},
		{"no signature", func() []byte { return rezip(t, without(SignaturePath), files) }, pub, "manifest.sig: missing"},
		{"no manifest", func() []byte { return rezip(t, without(ManifestPath), files) }, pub, "manifest.json: missing"},
		{"a file twice", func() []byte { return rezip(t, append(append([]string{}, names...), "summary.html"), files) }, pub, "summary.html: is in the archive twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Verify(tc.bundle(), tc.pub)
			require.NoError(t, err)
			require.False(t, v.OK())
			require.Contains(t, strings.Join(v.Problems, "\n"), tc.want)
		})
	}

	_, err = Verify([]byte("not a zip"), pub)
	require.ErrorContains(t, err, "not a zip archive")
	_, err = Verify(bundle, nil)
	require.ErrorContains(t, err, "not an Ed25519 key")
}

func TestSealRefusesBadNames(t *testing.T) {
	key := testKey(t, 5)
	for _, name := range []string{"", "/abs.json", "../up.json", "a/../../b", "a\\b", "c:x", ManifestPath, SignaturePath, "a//b"} {
		_, err := Seal(key, "int_1", "ev-1", bundleTime, []File{{name, []byte("x")}}, nil)
		require.Error(t, err, name)
	}
	_, err := Seal(key, "int_1", "ev-1", bundleTime, []File{{"a.json", nil}, {"a.json", nil}}, nil)
	require.ErrorContains(t, err, "twice")
	_, err = Seal(nil, "int_1", "ev-1", bundleTime, testFiles, nil)
	require.ErrorContains(t, err, "no Ed25519 signing key")
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		name, value, err string
	}{
		{"32 bytes", base64.StdEncoding.EncodeToString(make([]byte, 32)), ""},
		{"trailing newline", base64.StdEncoding.EncodeToString(make([]byte, 32)) + "\n", ""},
		{"too short", base64.StdEncoding.EncodeToString(make([]byte, 16)), "must be 32 bytes"},
		{"not base64", "!!!", "must be 32 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSigningKey(tc.value)
			if tc.err == "" {
				require.NoError(t, err)
			} else {
				require.ErrorContains(t, err, tc.err)
			}
		})
	}
	gen, err := GenerateSigningKey()
	require.NoError(t, err)
	key, err := ParseSigningKey(gen)
	require.NoError(t, err)
	pub := key.Public().(ed25519.PublicKey)

	pemText, err := PublicKeyPEM(pub)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(pemText), "-----BEGIN PUBLIC KEY-----\n"))
	for _, text := range [][]byte{pemText, []byte(base64.StdEncoding.EncodeToString(pub) + "\n")} {
		got, err := ParsePublicKey(text)
		require.NoError(t, err)
		require.Equal(t, pub, got)
	}
	_, err = ParsePublicKey([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	require.ErrorContains(t, err, "not PUBLIC KEY")
	_, err = ParsePublicKey([]byte("abc"))
	require.Error(t, err)
}

func TestRenderSummary(t *testing.T) {
	page, err := RenderSummary(Summary{
		IntegrationID: "int_1", EventID: `ev-<script>alert(1)</script>`, CreatedAt: bundleTime,
		Facts: []Fact{{"Affiliate", "aff_1"}},
		Timeline: []Moment{
			{At: bundleTime.Add(2 * time.Second), What: "attempt 1 of dlv_1", Detail: "500 <b>down</b>"},
			{At: bundleTime, What: "received", Detail: "GET /v1/postbacks"},
			{At: bundleTime.Add(2 * time.Second), What: "attempt 2 of dlv_1", Detail: "200"},
		},
		Missing: []Missing{{Item: "history delivery:dlv_1", Reason: "not retained"}},
		Files:   []string{"request.json"},
	})
	require.NoError(t, err)
	html := string(page)
	require.NotContains(t, html, "<script>alert(1)")
	require.Contains(t, html, "ev-&lt;script&gt;")
	require.Contains(t, html, "500 &lt;b&gt;down&lt;/b&gt;")
	received, first, second := strings.Index(html, "received"), strings.Index(html, "attempt 1 of"), strings.Index(html, "attempt 2 of")
	require.True(t, received < first && first < second, "the timeline is in time order, ties as given")
	require.Contains(t, html, "history delivery:dlv_1")
	require.Contains(t, html, "2026-12-01 02:00:00.000 UTC")

	empty, err := RenderSummary(Summary{IntegrationID: "int_1", EventID: "ev-1"})
	require.NoError(t, err)
	require.Contains(t, string(empty), "Nothing: the bundle holds everything it describes.")
}

// FuzzVerify feeds Verify arbitrary archives: it never panics, and only a sealed bundle verifies.
func FuzzVerify(f *testing.F) {
	seedKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	good, err := Seal(seedKey, "int_1", "ev-1", bundleTime, testFiles, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Verify(b, seedKey.Public().(ed25519.PublicKey))
		if err == nil && v.OK() {
			var m Manifest
			if _, files := unzippedLoose(b); json.Unmarshal(files[ManifestPath], &m) != nil {
				t.Fatal("verified without a manifest")
			}
		}
	})
}

// unzippedLoose reads what it can of an archive.
func unzippedLoose(b []byte) ([]string, map[string][]byte) {
	out := map[string][]byte{}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, out
	}
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			continue
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		names = append(names, f.Name)
		out[f.Name] = data
	}
	return names, out
}
