package redis

import (
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestScriptsDeclareEveryKey reads every embedded script: it must start
// with its KEYS, ARGV and Returns header, and every key it touches must come
// from KEYS (directly, or a local bound to KEYS[...]), never be built from a
// string: on Redis Cluster a key the client did not declare is not routed.
func TestScriptsDeclareEveryKey(t *testing.T) {
	call := regexp.MustCompile(`redis\.call\('(\w+)',\s*([^,)]+)`)
	bound := regexp.MustCompile(`local (\w+) = KEYS\[`)
	files, err := fs.Glob(luaFiles, "lua/*.lua")
	if err != nil || len(files) != 15 {
		t.Fatalf("scripts: %v %v", files, err)
	}
	for _, f := range files {
		b, _ := luaFiles.ReadFile(f)
		src := string(b)
		for _, h := range []string{"-- KEYS:", "-- ARGV:", "-- Returns:"} {
			if !strings.Contains(src, h) {
				t.Errorf("%s: no %q header", f, h)
			}
		}
		locals := map[string]bool{}
		for _, m := range bound.FindAllStringSubmatch(src, -1) {
			locals[m[1]] = true
		}
		n := 0
		for _, m := range call.FindAllStringSubmatch(src, -1) {
			n++
			key := strings.TrimSpace(m[2])
			if !strings.HasPrefix(key, "KEYS[") && !locals[key] {
				t.Errorf("%s: %s on %q, which is not from KEYS", f, m[1], key)
			}
		}
		if n == 0 {
			t.Errorf("%s: no redis.call found", f)
		}
	}
}

// TestScriptCallsMatchHeaders checks each script's typed call against its
// header: the keys and arguments a call lays out when its lists are empty
// must be the numbered KEYS and ARGV the header declares ("7.." and
// "3..2+2r" start a variable list and are not counted), so a script that
// gains an argument cannot be called with the old layout.
func TestScriptCallsMatchHeaders(t *testing.T) {
	files, _ := fs.Glob(luaFiles, "lua/*.lua")
	if len(files) != len(shapes) {
		t.Fatalf("%d scripts in lua/, %d with a typed call", len(files), len(shapes))
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "lua/"), ".lua")
		sh, ok := shapes[name]
		if !ok {
			t.Errorf("%s: no typed call", f)
			continue
		}
		b, _ := luaFiles.ReadFile(f)
		keys, argv, err := headerCounts(string(b))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if got := sh.keys - sh.trailingKeys; got != keys {
			t.Errorf("%s: the call passes %d fixed keys, the header declares %d", f, got, keys)
		}
		if sh.argv != argv {
			t.Errorf("%s: the call passes %d fixed arguments, the header declares %d", f, sh.argv, argv)
		}
	}
}

// headerCounts reads the highest numbered item of a script header's KEYS
// and ARGV sections: "5 stats hash" or "11-14 as chosen" count, "7.. ids"
// (a variable list) and "ARGV[15]" (a reference) do not.
func headerCounts(src string) (keys, argv int, err error) {
	var section string
	text := map[string]string{}
	for _, line := range strings.Split(src, "\n") {
		l, ok := strings.CutPrefix(line, "--")
		if !ok {
			continue
		}
		l = strings.TrimSpace(l)
		for _, h := range []string{"KEYS:", "ARGV:", "Returns:"} {
			if rest, ok := strings.CutPrefix(l, h); ok {
				section, l = h, rest
			}
		}
		if section == "KEYS:" || section == "ARGV:" {
			text[section] += " " + l + " "
		}
	}
	item := regexp.MustCompile(`[\s,;(](\d+)(?:-(\d+))?(\.\.)?\s`)
	count := func(s string) int {
		n := 0
		for _, m := range item.FindAllStringSubmatch(s, -1) {
			if m[3] != "" {
				continue
			}
			for _, g := range m[1:3] {
				if v, err := strconv.Atoi(g); err == nil {
					n = max(n, v)
				}
			}
		}
		return n
	}
	if text["KEYS:"] == "" || text["ARGV:"] == "" {
		return 0, 0, fmt.Errorf("no KEYS or ARGV section")
	}
	return count(text["KEYS:"]), count(text["ARGV:"]), nil
}
