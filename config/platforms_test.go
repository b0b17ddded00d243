package config

import (
	"slices"
	"strings"
	"testing"

	"github.com/cartrecovery/cartrecovery/platform"
	"github.com/cartrecovery/cartrecovery/platform/all"
)

// Every registered platform has its settings in Platforms, keyed by its
// name, in the registry's order; and its keys are among the built-in
// defaults (so that CARTRECOVERY_PLATFORMS_<NAME>_<KEY> overrides them).
func TestPlatformsMatchTheRegistry(t *testing.T) {
	var names []string
	Platforms{}.Each(func(name string, _ platform.Config) { names = append(names, name) })
	if want := all.Registry().Names(); !slices.Equal(names, want) {
		t.Fatalf("config.Platforms has %v, the registry %v", names, want)
	}
	d := platformDefaults()
	for _, n := range names {
		if !strings.Contains(d, "\n    "+n+":\n") {
			t.Errorf("defaults lack platforms.%s:\n%s", n, d)
		}
	}
}
