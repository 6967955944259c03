package web_test

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// openAPIOperations extracts "METHOD /path" pairs from the paths section of
// an OpenAPI YAML file by indentation: paths at two spaces, operations at
// four. No YAML library is needed for this much.
func openAPIOperations(t *testing.T, file string) []string {
	t.Helper()
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	methods := []string{"get", "put", "post", "delete", "patch", "head", "options"}
	var ops []string
	inPaths, path := false, ""
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		key, _, _ := strings.Cut(strings.TrimSpace(line), ":")
		switch {
		case indent == 0:
			inPaths = key == "paths"
		case !inPaths:
		case indent == 2:
			path = key
		case indent == 4 && slices.Contains(methods, key):
			ops = append(ops, strings.ToUpper(key)+" "+path)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ops
}

// TestOpenAPIMatchesRoutes keeps docs/openapi.yaml and the route table in
// step: every documented operation exists and every API route is documented.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFixture(t)
	var routes []string
	for _, rt := range f.srv.Routes() {
		if strings.HasPrefix(rt.Pattern, "/api/v1/") || rt.Pattern == "/healthz" || rt.Pattern == "/readyz" {
			routes = append(routes, rt.Method+" "+rt.Pattern)
		}
	}
	docs := openAPIOperations(t, "../../docs/openapi.yaml")
	if len(docs) < 10 {
		t.Fatalf("only %d operations parsed from the spec: %v", len(docs), docs)
	}
	for _, r := range routes {
		if !slices.Contains(docs, r) {
			t.Errorf("route %s is not documented in docs/openapi.yaml", r)
		}
	}
	for _, d := range docs {
		if !slices.Contains(routes, d) {
			t.Errorf("docs/openapi.yaml documents %s, which the router does not serve", d)
		}
	}
}
