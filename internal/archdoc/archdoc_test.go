package archdoc

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const (
	page    = "docs/architecture.md"
	heading = "## Where to change a default"
)

// TestWhereToChangeADefaultResolves reads the table and checks, for every
// row, that each file it names exists and each `identifier` after a file
// is in that file: a top-level declaration, Type.Field or Type.Method of a
// type declared there, pkg.Name used there (an import), or a string
// literal (a flag's name after "--", a setting's key or default).
func TestWhereToChangeADefaultResolves(t *testing.T) {
	root := filepath.Join("..", "..")
	md, err := os.ReadFile(filepath.Join(root, page))
	if err != nil {
		t.Fatal(err)
	}
	problems, checked := check(root, string(md))
	for _, p := range problems {
		t.Error(p)
	}
	if checked < 20 {
		t.Errorf("%s %q: only %d identifiers checked; is the table still there and in the form `file.go`: `Name`?", page, heading, checked)
	}
}

// The checker itself: a row naming a missing identifier, a missing file, a
// field a type lacks or an identifier before any file is reported with the
// row, so whoever renames something knows which row to fix.
func TestCheckReportsTheRowAndWhatIsMissing(t *testing.T) {
	root := filepath.Join("..", "..")
	md := heading + `

| What | Where (file: identifier) |
| --- | --- |
| Good | ` + "`internal/api/api.go`: `MaxPageSize`; `internal/tokend/serve.go`: flag `--drain-timeout`, `http.Server` fields in `serve`" + ` |
| Renamed | ` + "`internal/api/api.go`: `MaxPageSizeOld`" + ` |
| Moved file | ` + "`internal/api/gone.go`: `MaxPageSize`" + ` |
| No field | ` + "`internal/server/server.go`: `Config.NoSuchField`" + ` |
| No file | ` + "`DefaultTimeout` in the client" + ` |
| No flag | ` + "`internal/tokend/serve.go`: `--no-such-flag`" + ` |

## Next
`
	problems, checked := check(root, md)
	if checked != 9 {
		t.Errorf("checked %d references, want 9", checked)
	}
	want := []string{
		`row "Renamed": internal/api/api.go has no MaxPageSizeOld`,
		`row "Moved file": internal/api/gone.go`,
		`row "No field": internal/server/server.go has no Config.NoSuchField`,
		`row "No file": DefaultTimeout is named before any file`,
		`row "No flag": internal/tokend/serve.go has no flag "no-such-flag"`,
	}
	if len(problems) != len(want) {
		t.Fatalf("problems:\n%s\nwant %d", strings.Join(problems, "\n"), len(want))
	}
	for i, w := range want {
		if !strings.Contains(problems[i], w) {
			t.Errorf("problem %d = %q, want it to contain %q", i, problems[i], w)
		}
	}
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// check returns one line per reference of the table in md that does not
// resolve under root, and how many references it checked.
func check(root, md string) (problems []string, checked int) {
	rows, err := tableRows(md)
	if err != nil {
		return []string{err.Error()}, 0
	}
	files := map[string]*goFile{}
	for _, r := range rows {
		file := ""
		for _, m := range codeSpan.FindAllStringSubmatch(r.where, -1) {
			name := m[1]
			if strings.HasSuffix(name, ".go") {
				file = name
				continue
			}
			checked++
			where := fmt.Sprintf("%s %q, row %q: ", page, strings.TrimPrefix(heading, "## "), r.what)
			if file == "" {
				problems = append(problems, where+name+" is named before any file; write `path/file.go`: `"+name+"`")
				continue
			}
			f, ok := files[file]
			if !ok {
				f, err = parseGoFile(root, file)
				if err != nil {
					f = &goFile{err: err}
				}
				files[file] = f
			}
			if f.err != nil {
				problems = append(problems, where+file+": "+f.err.Error())
				continue
			}
			if why := f.resolve(name); why != "" {
				problems = append(problems, where+file+" has no "+why+"; fix the row or the code")
			}
		}
	}
	return problems, checked
}

type row struct{ what, where string }

// tableRows returns the body rows of the first table after heading.
func tableRows(md string) ([]row, error) {
	_, rest, ok := strings.Cut(md, "\n"+heading+"\n")
	if !ok {
		if rest, ok = strings.CutPrefix(md, heading+"\n"); !ok {
			return nil, fmt.Errorf("%s: no %q section", page, heading)
		}
	}
	var rows []row
	started := false
	for _, line := range strings.Split(rest, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if started {
				break
			}
			continue
		}
		started = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 {
			return nil, fmt.Errorf("%s %q: row %q has no Where cell", page, heading, line)
		}
		what, where := strings.TrimSpace(cells[0]), strings.TrimSpace(strings.Join(cells[1:], "|"))
		if what == "What" || strings.Trim(what, "-: ") == "" {
			continue // the header and the --- line
		}
		rows = append(rows, row{what, where})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s %q: no table rows", page, heading)
	}
	return rows, nil
}

// goFile is what one source file declares and mentions.
type goFile struct {
	err       error
	decls     map[string]bool            // top-level const, var, type, func
	fields    map[string]map[string]bool // type declared here → its fields
	methods   map[string]bool            // "Type.Method" anywhere in the package
	imports   map[string]bool            // local names of imports
	selectors map[string]bool            // "pkg.Name" as written
	strs      map[string]bool            // string literal values
}

func parseGoFile(root, rel string) (*goFile, error) {
	fset := token.NewFileSet()
	path := filepath.Join(root, filepath.FromSlash(rel))
	af, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("cannot read it (%v); the file moved or was renamed", err)
	}
	f := &goFile{decls: map[string]bool{}, fields: map[string]map[string]bool{}, methods: map[string]bool{},
		imports: map[string]bool{}, selectors: map[string]bool{}, strs: map[string]bool{}}
	for _, imp := range af.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		f.imports[name] = true
	}
	for _, d := range af.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				f.decls[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.ValueSpec:
					for _, n := range s.Names {
						f.decls[n.Name] = true
					}
				case *ast.TypeSpec:
					f.decls[s.Name.Name] = true
					fs := map[string]bool{}
					if st, ok := s.Type.(*ast.StructType); ok {
						for _, fl := range st.Fields.List {
							for _, n := range fl.Names {
								fs[n.Name] = true
							}
						}
					}
					f.fields[s.Name.Name] = fs
				}
			}
		}
	}
	ast.Inspect(af, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok {
				f.selectors[x.Name+"."+n.Sel.Name] = true
			}
		case *ast.BasicLit:
			if n.Kind == token.STRING {
				if v, err := strconv.Unquote(n.Value); err == nil {
					f.strs[v] = true
				}
			}
		}
		return true
	})
	// Methods may sit in any file of the package.
	pkgFiles, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.go"))
	for _, pf := range pkgFiles {
		if strings.HasSuffix(pf, "_test.go") {
			continue
		}
		other, err := parser.ParseFile(token.NewFileSet(), pf, nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range other.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil && len(fd.Recv.List) == 1 {
				f.methods[recvName(fd.Recv.List[0].Type)+"."+fd.Name.Name] = true
			}
		}
	}
	return f, nil
}

func recvName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvName(e.X)
	case *ast.IndexExpr:
		return recvName(e.X)
	case *ast.IndexListExpr:
		return recvName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// resolve returns "" when name is in f, else what is missing.
func (f *goFile) resolve(name string) string {
	if flag, ok := strings.CutPrefix(name, "--"); ok {
		if !f.strs[flag] {
			return fmt.Sprintf("flag %q (no string literal %q)", flag, flag)
		}
		return ""
	}
	if x, sel, ok := strings.Cut(name, "."); ok {
		switch {
		case f.imports[x]:
			if !f.selectors[name] {
				return name + " (the file does not use it)"
			}
		case f.fields[x] != nil:
			if !f.fields[x][sel] && !f.methods[name] {
				return name + " (type " + x + " has no such field or method)"
			}
		default:
			return name + " (no type or import " + x + " there)"
		}
		return ""
	}
	if !f.decls[name] && !f.strs[name] {
		return name + " (no top-level declaration or string literal by that name)"
	}
	return ""
}
