package redis

import (
	"io/fs"
	"regexp"
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
