//go:build tools

// Package tools pins the Temporal CLI that `make` builds into ./bin/temporal (its dev server runs the tests and
// `make run`). Its own module, so none of the CLI's dependencies enter affrelay's go.mod. It raises
// modernc.org/sqlite from the v1.34.1 that CLI v1.5.1 names to v1.44.3: under sustained load the older driver
// left the dev server failing every query with "interrupted (9)" until restarted (temporalio/temporal#9198).
package tools

import _ "github.com/temporalio/cli/cmd/temporal"
