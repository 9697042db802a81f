package node

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoRequestCtxAsContext type-checks the package and fails on any call
// that passes a *fasthttp.RequestCtx where a context.Context is expected:
// a RequestCtx is recycled once the handler returns and does not end when
// the client leaves, so work for a request runs on requestContext instead.
func TestNoRequestCtxAsContext(t *testing.T) {
	exports := exportData(t)
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, f := range pkgs["node"].Files {
		files = append(files, f)
	}
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		p, ok := exports[path]
		if !ok {
			return nil, os.ErrNotExist
		}
		return os.Open(p)
	})
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	conf := types.Config{Importer: imp}
	if _, err := conf.Check("github.com/ringside-live/ringside/node", fset, files, info); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		ast.Inspect(f, func(nd ast.Node) bool {
			call, ok := nd.(*ast.CallExpr)
			if !ok {
				return true
			}
			sig, ok := info.Types[call.Fun].Type.(*types.Signature)
			if !ok {
				return true
			}
			for i, arg := range call.Args {
				if !isRequestCtx(info.Types[arg].Type) {
					continue
				}
				if p := paramType(sig, i); p != nil && isContext(p) {
					t.Errorf("%s: a *fasthttp.RequestCtx is passed as a context.Context; use requestContext", fset.Position(arg.Pos()))
				}
			}
			return true
		})
	}
}

func paramType(sig *types.Signature, i int) types.Type {
	ps := sig.Params()
	switch {
	case sig.Variadic() && i >= ps.Len()-1:
		return ps.At(ps.Len() - 1).Type().(*types.Slice).Elem()
	case i < ps.Len():
		return ps.At(i).Type()
	}
	return nil
}

func isRequestCtx(t types.Type) bool {
	return t != nil && t.String() == "*github.com/valyala/fasthttp.RequestCtx"
}

func isContext(t types.Type) bool {
	n, ok := t.(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "context" && n.Obj().Name() == "Context"
}

// exportData maps every dependency of the package to its compiled export
// data (go list builds what is missing).
func exportData(t *testing.T) map[string]string {
	t.Helper()
	dir, _ := filepath.Abs(".")
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}} {{.Export}}", dir).Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if path, file, ok := strings.Cut(sc.Text(), " "); ok && file != "" {
			m[path] = file
		}
	}
	return m
}
