package tenant_test

import (
	"testing"
	"time"

	"github.com/cartrecovery/cartrecovery/recovery"
	"github.com/cartrecovery/cartrecovery/tenant"
)

func TestSetAnswersEveryStoreFromOneSnapshot(t *testing.T) {
	pb := func(d time.Duration) recovery.Playbook {
		return recovery.Playbook{Steps: []recovery.Step{{Name: "first", Delay: d}},
			Segments: []recovery.Segment{{Name: "high", Holdout: -1, Steps: []recovery.Step{{Name: "first", Delay: d / 2}}},
				{Name: "own", Holdout: 5, Steps: []recovery.Step{{Name: "first", Delay: 3 * d}}}}}
	}
	rules := tenant.Rules{HoldoutPercent: 10, Window: 48 * time.Hour, Cooldown: time.Hour, MaxCartAge: 24 * time.Hour}
	for _, strict := range []bool{false, true} {
		set := tenant.New(tenant.Set{Default: &tenant.Tenant{Playbook: pb(time.Hour)},
			Stores: map[string]*tenant.Tenant{"a": {Playbook: pb(2 * time.Hour)}}, Strict: strict, Rules: rules})
		a, ok := set.For("a")
		if !ok || a.ID != "a" || a.Playbook.Steps[0].Delay != 2*time.Hour {
			t.Fatalf("store a: %+v %v", a, ok)
		}
		other, ok := set.For("b")
		if ok == strict || other != set.Default || other.ID != "" {
			t.Fatalf("strict %v: store b got %+v, taken %v", strict, other, ok)
		}
		// storage reads the same tenant's playbook and the set's rules
		if p := set.Policy("a"); p != a.Policy || p.Playbook.Steps[0].Delay != 2*time.Hour ||
			p.Window != rules.Window || p.Cooldown != rules.Cooldown || p.MaxCartAge != rules.MaxCartAge {
			t.Fatalf("policy of a: %+v", p)
		}
		if p := set.Policy("b"); p != set.Default.Policy {
			t.Fatalf("policy of a store not listed: %+v", p)
		}
		// holdout: the default sequence's and an inheriting segment's are
		// the rule's; a segment's own stands
		if h := [3]int{a.Policy.Holdout(""), a.Policy.Holdout("high"), a.Policy.Holdout("own")}; h != [3]int{10, 10, 5} {
			t.Fatalf("holdouts %v", h)
		}
		if d := set.LongestDelay(); d != 6*time.Hour {
			t.Fatalf("longest delay %v", d)
		}
	}
}

// TestNewLeavesItsInputAlone: New copies the stores' tenants, so the Set
// a reload built cannot be changed through the map it was built from.
func TestNewLeavesItsInputAlone(t *testing.T) {
	in, def := &tenant.Tenant{Shop: recovery.Shop{Name: "A"}}, &tenant.Tenant{Shop: recovery.Shop{Name: "D"}}
	set := tenant.New(tenant.Set{Default: def, Stores: map[string]*tenant.Tenant{"a": in}})
	in.Shop.Name, def.Shop.Name = "changed", "changed"
	if a, _ := set.For("a"); a.Shop.Name != "A" || in.ID != "" || in.Policy != nil {
		t.Fatalf("the set's tenant %+v, the input %+v", a, in)
	}
	if set.Default.Shop.Name != "D" || def.Policy != nil || set.Default.Policy == nil {
		t.Fatalf("the set's default %+v, the input %+v", set.Default, def)
	}
	if empty := tenant.New(tenant.Set{}); empty.Default == nil || empty.Default.Policy == nil {
		t.Fatal("no default tenant")
	}
}

// TestLiveIsOneSwap: every reader of a Live sees the Set of the last
// Store, whole.
func TestLiveIsOneSwap(t *testing.T) {
	one := tenant.New(tenant.Set{Default: &tenant.Tenant{Playbook: recovery.Playbook{Steps: []recovery.Step{{Delay: time.Hour}}}}})
	two := tenant.New(tenant.Set{Default: &tenant.Tenant{Playbook: recovery.Playbook{Steps: []recovery.Step{{Delay: 2 * time.Hour}}}}})
	live := tenant.NewLive(one)
	if live.Load() != one || live.Policy("x") != one.Default.Policy {
		t.Fatal("Live does not serve its first set")
	}
	live.Store(two)
	if live.Load() != two || live.Policy("x") != two.Default.Policy || live.LongestDelay() != 2*time.Hour {
		t.Fatal("Live does not serve the set stored last")
	}
}
