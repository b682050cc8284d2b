package store

import (
	"fmt"
	"go/ast"
	"go/types"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

// TestOnlyStoreWritesQueries keeps queries in store: outside it, no non-test file calls a method of a
// *gorm.DB (Where, Take, Create, Transaction, Clauses, …), so an inline GORM chain cannot come back. Only
// WithContext is allowed, which binds a context to the handle a caller passes to a store function. The
// check is by type, not by name: a method of the same name on another type (a schedule client's Create,
// os.Create, store.Store.Transaction) is not a GORM call.
func TestOnlyStoreWritesQueries(t *testing.T) {
	allowed := map[string]bool{"WithContext": true}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo, Dir: ".."}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	checked := 0
	for _, pkg := range pkgs {
		for _, e := range pkg.Errors {
			t.Fatalf("load %s: %v", pkg.PkgPath, e)
		}
		if pkg.Name == "store" && strings.HasSuffix(pkg.PkgPath, "/store") {
			continue
		}
		checked++
		for _, file := range pkg.Syntax {
			ast.Inspect(file, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || allowed[sel.Sel.Name] {
					return true
				}
				if s := pkg.TypesInfo.Selections[sel]; s != nil && s.Kind() == types.MethodVal && isGormDB(s.Recv()) {
					pos := pkg.Fset.Position(call.Pos())
					found = append(found, fmt.Sprintf("%s/%s:%d: .%s(", pkg.PkgPath, filepath.Base(pos.Filename), pos.Line, sel.Sel.Name))
				}
				return true
			})
		}
	}
	if checked < 20 {
		t.Fatalf("checked only %d packages: the loader found too little", checked)
	}
	sort.Strings(found)
	if len(found) > 0 {
		t.Errorf("GORM calls outside store (put the query in store/<concern>.go as a typed function):\n%s", strings.Join(found, "\n"))
	}
}

// isGormDB says whether t is gorm.DB or a pointer to it.
func isGormDB(t types.Type) bool {
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	n, ok := t.(*types.Named)
	return ok && n.Obj().Name() == "DB" && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "gorm.io/gorm"
}
