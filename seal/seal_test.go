package seal

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func keyring(t *testing.T, current, spec string) *Keyring {
	t.Helper()
	keys, err := ParseKeys(spec)
	require.NoError(t, err)
	k, err := NewKeyring(current, keys)
	require.NoError(t, err)
	return k
}

func TestSealOpensUnderItsKeyOnly(t *testing.T) {
	k1, err := GenerateKey("k1")
	require.NoError(t, err)
	k2, err := GenerateKey("k2")
	require.NoError(t, err)
	old := keyring(t, "k1", k1)
	both := keyring(t, "k2", k1+","+k2)

	sealed, err := old.Seal("whsec_topsecret")
	require.NoError(t, err)
	require.NotContains(t, sealed, "topsecret")
	require.True(t, strings.HasPrefix(sealed, "sealed:v1:k1:"))
	require.True(t, old.Current(sealed))
	require.False(t, both.Current(sealed), "sealed under k1, the current key is k2")

	plain, err := both.Open(sealed)
	require.NoError(t, err)
	require.Equal(t, "whsec_topsecret", plain)

	resealed, err := both.Seal(plain)
	require.NoError(t, err)
	_, err = old.Open(resealed)
	require.ErrorIs(t, err, ErrUnknownKey)

	again, err := old.Seal("whsec_topsecret")
	require.NoError(t, err)
	require.NotEqual(t, sealed, again, "a fresh nonce every time")
}

func TestOpenRefusesAlteredValues(t *testing.T) {
	k1, _ := GenerateKey("k1")
	k := keyring(t, "k1", k1)
	sealed, err := k.Seal("secret")
	require.NoError(t, err)
	for name, v := range map[string]string{
		"one character changed": changeCharacter(sealed, len(sealed)-10),
		"key id changed":        strings.Replace(sealed, ":k1:", ":k2:", 1),
		"truncated":             sealed[:len("sealed:v1:k1:")+4],
		"not base64":            "sealed:v1:k1:***",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := k.Open(v)
			require.Error(t, err)
		})
	}
	clear, err := k.Open("legacy-clear-secret")
	require.NoError(t, err, "a value from before sealing opens as it is, to be re-sealed")
	require.Equal(t, "legacy-clear-secret", clear)
	require.False(t, k.Current("legacy-clear-secret"))
	empty, err := k.Seal("")
	require.NoError(t, err)
	require.Empty(t, empty)
}

// changeCharacter changes the character at i to another one. i must be inside the base64 text and away from
// its end: the last characters before padding also carry unused bits, which decoding does not check.
func changeCharacter(s string, i int) string {
	c := byte('A')
	if s[i] == c {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func TestParseKeys(t *testing.T) {
	good, _ := GenerateKey("a")
	for _, tc := range []struct{ name, spec, err string }{
		{"one", good, ""},
		{"spaces and empty items", " " + good + " ,, ", ""},
		{"no id", strings.TrimPrefix(good, "a:"), "written id:base64key"},
		{"short key", "a:" + "AAAA", "must be 32 bytes"},
		{"bad id", "a b:" + strings.TrimPrefix(good, "a:"), "written id:base64key"},
		{"twice", good + "," + good, "given twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKeys(tc.spec)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
			require.NotContains(t, err.Error(), strings.TrimPrefix(good, "a:"), "an error never shows a key")
		})
	}
	_, err := NewKeyring("b", map[string][]byte{"a": make([]byte, 32)})
	require.ErrorContains(t, err, `current key "b" is not among the keys (a)`)
}
