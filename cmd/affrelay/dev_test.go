package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/affrelay/affrelay/evidence"
)

// TestDevKeyIsMadeOnceAndKept: dev mode's evidence signing key is generated on first use, private to its
// owner, and the same on every later start (bundles made earlier still verify).
func TestDevKeyIsMadeOnceAndKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), ".data")
	first, err := devKey(dir, "evidence.key", evidence.GenerateSigningKey)
	require.NoError(t, err)
	_, err = evidence.ParseSigningKey(first)
	require.NoError(t, err)
	info, err := os.Stat(filepath.Join(dir, "evidence.key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	again, err := devKey(dir, "evidence.key", func() (string, error) { panic("a kept key is not made again") })
	require.NoError(t, err)
	require.Equal(t, first, again)
}
