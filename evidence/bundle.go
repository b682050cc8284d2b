package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// BundleFormat names the layout of an evidence bundle; it changes when the layout does.
const BundleFormat = "affrelay-evidence/1"

// The files every bundle carries besides its content: the manifest and its Ed25519 signature (64 raw bytes,
// as `openssl pkeyutl -verify -rawin -sigfile` reads it).
const (
	ManifestPath  = "manifest.json"
	SignaturePath = "manifest.sig"
)

// maxBundleBytes bounds what Verify reads out of an archive (its files decompressed, all together).
const maxBundleBytes = 512 << 20

// File is one file of a bundle.
type File struct {
	Path string
	Data []byte
}

// Missing is something a bundle should hold but does not, and why (e.g. a workflow history Temporal no
// longer retains).
type Missing struct {
	Item   string `json:"item"`
	Reason string `json:"reason"`
}

// ManifestFile is one file as the manifest vouches for it.
type ManifestFile struct {
	Path   string `json:"path"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
}

// SigningKeyInfo names the key that signed a manifest, so a verifier picks the right public key.
type SigningKeyInfo struct {
	Algorithm string `json:"algorithm"`
	// Fingerprint is the hex SHA-256 of the raw 32-byte public key.
	Fingerprint string `json:"fingerprint_sha256"`
}

// Manifest is a bundle's signed table of contents: every other file with its SHA-256, and what is missing.
type Manifest struct {
	Format        string         `json:"format"`
	IntegrationID string         `json:"integration_id"`
	EventID       string         `json:"event_id"`
	CreatedAt     time.Time      `json:"created_at"`
	SigningKey    SigningKeyInfo `json:"signing_key"`
	Files         []ManifestFile `json:"files"`
	Missing       []Missing      `json:"missing"`
}

// Seal returns the zip of files, manifest.json listing each with its SHA-256 (and missing as given), and
// manifest.sig, the manifest's Ed25519 signature under key. Files are written in the order given, every one
// dated createdAt, so the same content gives the same archive.
func Seal(key ed25519.PrivateKey, integrationID, eventID string, createdAt time.Time, files []File, missing []Missing) ([]byte, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("evidence: no Ed25519 signing key")
	}
	m := Manifest{
		Format: BundleFormat, IntegrationID: integrationID, EventID: eventID, CreatedAt: createdAt.UTC(),
		SigningKey: KeyInfo(key.Public().(ed25519.PublicKey)), Files: make([]ManifestFile, 0, len(files)),
		Missing: append([]Missing{}, missing...),
	}
	seen := map[string]bool{ManifestPath: true, SignaturePath: true}
	for _, f := range files {
		if err := checkPath(f.Path); err != nil {
			return nil, err
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("evidence: file %s is given twice or is reserved", f.Path)
		}
		seen[f.Path] = true
		sum := sha256.Sum256(f.Data)
		m.Files = append(m.Files, ManifestFile{Path: f.Path, Size: len(f.Data), SHA256: hex.EncodeToString(sum[:])})
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	manifest = append(manifest, '\n')
	all := append(append([]File{}, files...), File{ManifestPath, manifest}, File{SignaturePath, ed25519.Sign(key, manifest)})
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range all {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Path, Method: zip.Deflate, Modified: m.CreatedAt})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkPath refuses a name that unzips outside its directory or is not a plain relative path.
func checkPath(p string) error {
	if p == "" || path.Clean(p) != p || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "../") || p == ".." ||
		strings.ContainsAny(p, "\\:\x00") {
		return fmt.Errorf("evidence: %q is not a plain relative file name", p)
	}
	return nil
}

// Verification is what Verify found. Problems is empty when the bundle is intact and signed by the key.
type Verification struct {
	Manifest Manifest
	Problems []string
	// Audit is what the audit rows' chain proof in audit.json showed.
	Audit AuditProofResult
}

// OK says whether the bundle verified.
func (v Verification) OK() bool { return len(v.Problems) == 0 }

// Verify checks a bundle against the operator's public key: manifest.sig must be the key's signature of
// manifest.json, and every file the manifest lists must be in the archive with its SHA-256 and size, and no
// other file; the audit rows in audit.json must fit their chain proof. It names every problem; the error is
// for an archive that cannot be read at all.
func Verify(bundle []byte, pub ed25519.PublicKey) (Verification, error) {
	var v Verification
	if len(pub) != ed25519.PublicKeySize {
		return v, errors.New("evidence: the public key is not an Ed25519 key")
	}
	zr, err := zip.NewReader(bytes.NewReader(bundle), int64(len(bundle)))
	if err != nil {
		return v, fmt.Errorf("evidence: not a zip archive: %w", err)
	}
	contents := map[string][]byte{}
	budget := int64(maxBundleBytes)
	for _, zf := range zr.File {
		if _, dup := contents[zf.Name]; dup {
			v.Problems = append(v.Problems, zf.Name+": is in the archive twice")
			continue
		}
		rc, err := zf.Open()
		if err != nil {
			v.Problems = append(v.Problems, zf.Name+": cannot be read: "+err.Error())
			continue
		}
		data, err := io.ReadAll(io.LimitReader(rc, budget+1))
		rc.Close()
		if err != nil {
			v.Problems = append(v.Problems, zf.Name+": cannot be read: "+err.Error())
			continue
		}
		if budget -= int64(len(data)); budget < 0 {
			return v, fmt.Errorf("evidence: the archive holds more than %d bytes", maxBundleBytes)
		}
		contents[zf.Name] = data
	}
	manifest, okM := contents[ManifestPath]
	sig, okS := contents[SignaturePath]
	switch {
	case !okM:
		v.Problems = append(v.Problems, ManifestPath+": missing")
		return v, nil
	case !okS:
		v.Problems = append(v.Problems, SignaturePath+": missing")
	case !ed25519.Verify(pub, manifest, sig):
		v.Problems = append(v.Problems, SignaturePath+": not a signature of "+ManifestPath+" by this key (fingerprint "+Fingerprint(pub)+")")
	}
	if err := json.Unmarshal(manifest, &v.Manifest); err != nil {
		v.Problems = append(v.Problems, ManifestPath+": not a manifest: "+err.Error())
		return v, nil
	}
	listed := map[string]bool{ManifestPath: true, SignaturePath: true}
	for _, f := range v.Manifest.Files {
		listed[f.Path] = true
		data, ok := contents[f.Path]
		if !ok {
			v.Problems = append(v.Problems, f.Path+": listed in the manifest but not in the archive")
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != f.SHA256 || len(data) != f.Size {
			v.Problems = append(v.Problems, f.Path+": its SHA-256 is not the one in the manifest (changed after signing)")
			continue
		}
		if f.Path == AuditPath {
			if v.Audit, err = CheckAuditProof(data); err != nil {
				v.Problems = append(v.Problems, err.Error())
			}
		}
	}
	var extra []string
	for name := range contents {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		v.Problems = append(v.Problems, name+": in the archive but not in the manifest")
	}
	return v, nil
}

// SigningKeySeedBytes is the size of the setting evidence.signing_key: an Ed25519 seed.
const SigningKeySeedBytes = ed25519.SeedSize

// ParseSigningKey reads an Ed25519 private key from the standard base64 of its 32-byte seed
// (openssl rand -base64 32).
func ParseSigningKey(b64 string) (ed25519.PrivateKey, error) {
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("must be %d bytes in standard base64 (openssl rand -base64 32)", ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// GenerateSigningKey returns a new key as ParseSigningKey reads it.
func GenerateSigningKey() (string, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(seed), nil
}

// Fingerprint is the hex SHA-256 of a raw public key.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])
}

// KeyInfo describes pub as a manifest names it.
func KeyInfo(pub ed25519.PublicKey) SigningKeyInfo {
	return SigningKeyInfo{Algorithm: "Ed25519", Fingerprint: Fingerprint(pub)}
}

// PublicKeyPEM is pub as a PEM "PUBLIC KEY" (SubjectPublicKeyInfo), the form openssl reads with -pubin.
func PublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKey reads an Ed25519 public key from PEM (as PublicKeyPEM writes it) or from the standard base64
// of its 32 raw bytes.
func ParsePublicKey(text []byte) (ed25519.PublicKey, error) {
	if block, _ := pem.Decode(text); block != nil {
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("the PEM block is %q, not PUBLIC KEY", block.Type)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		pub, ok := k.(ed25519.PublicKey)
		if !ok {
			return nil, fmt.Errorf("the key is a %T, not Ed25519", k)
		}
		return pub, nil
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, errors.New("not a PEM PUBLIC KEY nor the base64 of a 32-byte Ed25519 public key")
	}
	return ed25519.PublicKey(raw), nil
}
