package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The SDK's testsuite (test environments, a dev-server downloader) stays out of the production binary: dev starts
// ./bin/temporal itself.
func TestBinaryDoesNotLinkTheSDKTestsuite(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "go.temporal.io/sdk/testsuite") || strings.HasPrefix(pkg, "go.temporal.io/sdk/internal/test") {
			t.Errorf("the affrelay binary links %s", pkg)
		}
	}
}
