package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/viper"
)

// The example config (cartrecovery.example.yaml, every key with its default,
// commented) and docs/configuration.md (the reference table) are the
// reference of the configuration; the built-in defaults (defaults, in
// load.go) are the key list they must follow. TestShippedConfigsAreValid
// already loads and validates the example, so a key it sets that does not
// exist fails there (unknown keys are errors). These tests check the rest:
// that no key of the defaults is missing from the example or the docs, and
// that neither names a top-level section that does not exist (the example's
// commented-out sections, the docs' reference table).

const (
	exampleFile = "cartrecovery.example.yaml"
	docsFile    = "../docs/configuration.md"
)

func TestReference(t *testing.T) {
	keys := defaultKeys(t)
	if len(keys) < 40 {
		t.Fatalf("the built-in defaults give only %d keys: %v", len(keys), keys)
	}
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range exampleProblems(keys, string(example)) {
		t.Errorf("config/%s: %s", exampleFile, p)
	}
	for _, p := range docsProblems(keys, string(docs)) {
		t.Errorf("docs/configuration.md: %s", p)
	}
}

// TestReferenceCatchesOmissions makes sure the checks above can fail: a key
// taken out of the example or the docs, and a section that does not exist
// added to either, are each reported.
func TestReferenceCatchesOmissions(t *testing.T) {
	keys := defaultKeys(t)
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile(docsFile)
	if err != nil {
		t.Fatal(err)
	}
	ex, doc := string(example), string(docs)
	for _, c := range []struct {
		name, text string
		check      func([]string, string) []string
		want       string
	}{
		{"key left out of the example", removeKey(t, ex, "ops_addr"), exampleProblems, "http.ops_addr (a key"},
		{"nested key left out of the example", removeKey(t, ex, "pool"), exampleProblems, "email.smtp.pool (a key"},
		{"unknown commented-out section in the example", ex + "\n# webhooks:\n#   retries: 3\n", exampleProblems, `section "webhooks"`},
		{"unknown section in the example", ex + "\nnotifications: {slack: x}\n", exampleProblems, `section "notifications"`},
		{"key left out of the docs", replace(t, doc, "`http.session_ttl`", "`http.session`"), docsProblems, "http.session_ttl (a key"},
		{"key named only in a longer key in the docs", replace(t, doc, "`rules.platform_check`", "`rules.platform_checking`"), docsProblems, "rules.platform_check (a key"},
		{"unknown section in the docs", addRow(t, doc, "| `queue.size` | `10` | made up |"), docsProblems, `"queue" is not a top-level key`},
		{"unknown key of a section in the docs", addRow(t, doc, "| `redis.pool_size` | `10` | made up |"), docsProblems, "names redis.pool_size, which is no key"},
	} {
		got := c.check(keys, c.text)
		if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, c.want) }) {
			t.Errorf("%s: want a problem naming %q, got %q", c.name, c.want, got)
		}
	}
}

// defaultKeys are the keys of the built-in defaults, as Load sees them
// (viper's flattened names: email.smtp.pool; a list such as sequence is one
// key).
func defaultKeys(t *testing.T) []string {
	t.Helper()
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(strings.NewReader(defaults)); err != nil {
		t.Fatal(err)
	}
	keys := v.AllKeys()
	sort.Strings(keys)
	return keys
}

// topLevel are the top-level sections of the configuration: every key of
// Config, plus stores, which Load reads apart from viper (splitStores).
func topLevel() map[string]bool {
	m := map[string]bool{"stores": true}
	rt := reflect.TypeFor[Config]()
	for i := range rt.NumField() {
		if tag := rt.Field(i).Tag.Get("mapstructure"); tag != "" && tag != "-" {
			m[tag] = true
		}
	}
	return m
}

// commentedSection is a top-level section commented out in the example, as
// "# segments:" alone on its line (comment prose has words after its colon).
var commentedSection = regexp.MustCompile(`(?m)^# ?([a-z_]+):\s*$`)

// exampleProblems lists the keys of the defaults the example leaves out,
// and the top-level sections it names, set or commented out, that do not
// exist.
func exampleProblems(keys []string, example string) []string {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(strings.NewReader(example)); err != nil {
		return []string{fmt.Sprintf("does not parse: %v", err)}
	}
	set := v.AllKeys()
	var out []string
	for _, k := range keys {
		if !slices.Contains(set, k) {
			out = append(out, fmt.Sprintf("%s (a key of the built-in defaults in config/load.go) is missing; add it with its default and a comment", k))
		}
	}
	top := topLevel()
	var sections []string
	for _, k := range set {
		sections = append(sections, strings.SplitN(k, ".", 2)[0])
	}
	for _, m := range commentedSection.FindAllStringSubmatch(example, -1) {
		sections = append(sections, m[1])
	}
	sort.Strings(sections)
	for _, s := range slices.Compact(sections) {
		if !top[s] {
			out = append(out, fmt.Sprintf("names the section %q, which is not a top-level key of the configuration", s))
		}
	}
	return out
}

var codeSpan = regexp.MustCompile("`([^`\n]+)`")

// docsProblems lists the keys of the defaults the docs do not name in full
// in a code span (`email.smtp.pool`; a shorthand such as `.pool` does not
// count), and the keys in the first column of the reference table whose
// section does not exist, or, in a section the defaults spell out, which
// are no key of it.
func docsProblems(keys []string, docs string) []string {
	var spans []string
	for _, m := range codeSpan.FindAllStringSubmatch(docs, -1) {
		spans = append(spans, m[1])
	}
	var out []string
	for _, k := range keys {
		if !slices.ContainsFunc(spans, func(s string) bool { return namesKey(s, k) }) {
			out = append(out, fmt.Sprintf("%s (a key of the built-in defaults in config/load.go) is not named; name it in full, as `%s`", k, k))
		}
	}
	top := topLevel()
	for _, cell := range referenceKeys(docs) {
		for _, m := range codeSpan.FindAllStringSubmatch(cell, -1) {
			name := m[1]
			if name == "" || name[0] < 'a' || name[0] > 'z' {
				continue // a shorthand (`.label`) of the key before it
			}
			section := name[:strings.IndexFunc(name+".", func(r rune) bool { return r == '.' || r == '[' })]
			if !top[section] {
				out = append(out, fmt.Sprintf("the reference table names %s, and %q is not a top-level key of the configuration", name, section))
				continue
			}
			if strings.ContainsAny(name, "[]<>*\"") || !slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, section+".") }) {
				continue // a list, a map of ids, or a section the defaults leave empty
			}
			if !slices.ContainsFunc(keys, func(k string) bool { return k == name || strings.HasPrefix(k, name+".") }) {
				out = append(out, fmt.Sprintf("the reference table names %s, which is no key of the configuration", name))
			}
		}
	}
	return out
}

// namesKey reports whether the code span s names key as a whole, not as
// part of a longer name (rules.platform_check in rules.platform_check_timeout).
func namesKey(s, key string) bool {
	isName := func(b byte) bool {
		return b == '_' || b == '.' || b == '[' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
	}
	for i := 0; ; {
		j := strings.Index(s[i:], key)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(key)
		if (start == 0 || !isName(s[start-1])) && (end == len(s) || !isName(s[end])) {
			return true
		}
		i = start + 1
	}
}

// referenceKeys returns the first cell of each row of the reference table:
// the table whose header is "| key | default | meaning |".
func referenceKeys(docs string) []string {
	var cells []string
	in := false
	for _, line := range strings.Split(docs, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "| key |"):
			in = true
		case !strings.HasPrefix(line, "|"):
			in = false
		case in && !strings.HasPrefix(line, "|---"):
			cells = append(cells, strings.SplitN(line[1:], "|", 2)[0])
		}
	}
	return cells
}

// removeKey removes the first line that sets the nested key name ("  name: …").
func removeKey(t *testing.T, example, name string) string {
	t.Helper()
	line := regexp.MustCompile(`(?m)^[ \t]+` + regexp.QuoteMeta(name) + `:.*\n`).FindStringIndex(example)
	if line == nil {
		t.Fatalf("the example sets no nested key %s on a line of its own", name)
	}
	return example[:line[0]] + example[line[1]:]
}

// replace replaces every old in docs with new; old must be there.
func replace(t *testing.T, docs, old, new string) string {
	t.Helper()
	if !strings.Contains(docs, old) {
		t.Fatalf("docs/configuration.md has no %s", old)
	}
	return strings.ReplaceAll(docs, old, new)
}

// addRow adds row to the reference table, after its header.
func addRow(t *testing.T, docs, row string) string {
	t.Helper()
	const sep = "|---|---|---|\n"
	i := strings.Index(docs, sep)
	if i < 0 || !strings.Contains(docs[:i], "| key |") {
		t.Fatal("docs/configuration.md has no reference table (| key | default | meaning |)")
	}
	return docs[:i+len(sep)] + row + "\n" + docs[i+len(sep):]
}
