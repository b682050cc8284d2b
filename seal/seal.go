// Package seal encrypts secrets kept at rest: AES-256-GCM under a key named by its id, which every sealed
// value carries, so values sealed under an older key still open while they are re-sealed under the current
// one. It does no I/O.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// prefix starts every sealed value: "sealed:v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>".
const prefix = "sealed:v1:"

// KeyBytes is the size of an AES-256 key.
const KeyBytes = 32

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Keyring holds the keys by id and the id of the one new values are sealed under.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
}

// ParseKeys reads "id:base64key,id:base64key" (standard base64 of 32 random bytes each).
func ParseKeys(spec string) (map[string][]byte, error) {
	keys := map[string][]byte{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, b64, ok := strings.Cut(item, ":")
		if !ok || !keyIDPattern.MatchString(id) {
			return nil, errors.New("a key is not written id:base64key, the id of letters, digits, _ or - (at most 32)")
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) != KeyBytes {
			return nil, fmt.Errorf("key %s: must be %d bytes in standard base64 (openssl rand -base64 32)", id, KeyBytes)
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("key %s is given twice", id)
		}
		keys[id] = key
	}
	return keys, nil
}

// NewKeyring returns the keyring sealing under current, which must be among keys.
func NewKeyring(current string, keys map[string][]byte) (*Keyring, error) {
	if _, ok := keys[current]; !ok {
		return nil, fmt.Errorf("current key %q is not among the keys (%s)", current, strings.Join(ids(keys), ", "))
	}
	k := &Keyring{current: current, aeads: map[string]cipher.AEAD{}}
	for id, key := range keys {
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", id, err)
		}
		if k.aeads[id], err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func ids(keys map[string][]byte) []string {
	out := make([]string, 0, len(keys))
	for id := range keys {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// CurrentID is the id of the key new values are sealed under.
func (k *Keyring) CurrentID() string { return k.current }

// Seal encrypts plain under the current key; the empty string stays empty (nothing to hide).
func (k *Keyring) Seal(plain string) (string, error) {
	if plain == "" {
		return "", nil
	}
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	// The key id is authenticated with the value, so a value cannot be passed off as another key's.
	out := aead.Seal(nonce, nonce, []byte(plain), []byte(k.current))
	return prefix + k.current + ":" + base64.StdEncoding.EncodeToString(out), nil
}

// ErrUnknownKey is returned for a value sealed under a key the keyring does not hold.
var ErrUnknownKey = errors.New("sealed under a key that is not configured")

// Open decrypts a sealed value. A value that is not sealed (stored before secrets were sealed) is returned
// as it is: Sealed says which is which, and re-sealing turns it into a sealed one.
func (k *Keyring) Open(value string) (string, error) {
	id, body, sealed := KeyID(value)
	if !sealed {
		return value, nil
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownKey, id)
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", fmt.Errorf("sealed value under key %s is malformed", id)
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(id))
	if err != nil {
		return "", fmt.Errorf("sealed value under key %s does not open: altered, or the key is not the one it was sealed with", id)
	}
	return string(plain), nil
}

// KeyID returns the key id a value is sealed under and its sealed part; sealed false for a clear value.
func KeyID(value string) (id, body string, sealed bool) {
	rest, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return "", "", false
	}
	id, body, ok = strings.Cut(rest, ":")
	return id, body, ok
}

// Current says whether value needs no re-sealing: empty, or sealed under the current key.
func (k *Keyring) Current(value string) bool {
	id, _, sealed := KeyID(value)
	return value == "" || (sealed && id == k.current)
}

// GenerateKey returns a new random key in the form ParseKeys reads, under id.
func GenerateKey(id string) (string, error) {
	key := make([]byte, KeyBytes)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// RandomKeyring returns a keyring of one new random key, id, for processes whose secrets need not outlive them
// (tests).
func RandomKeyring(id string) (*Keyring, error) {
	spec, err := GenerateKey(id)
	if err != nil {
		return nil, err
	}
	keys, err := ParseKeys(spec)
	if err != nil {
		return nil, err
	}
	return NewKeyring(id, keys)
}
