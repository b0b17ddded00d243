package recovery

import (
	"context"
	"testing"
	"time"
)

func TestPolicyInContextIsTheStoresOnly(t *testing.T) {
	p := &Policy{Window: time.Hour}
	ctx := WithPolicy(context.Background(), "a", p)
	if PolicyFrom(ctx, "a") != p {
		t.Fatal("the store's policy is not in its context")
	}
	if PolicyFrom(ctx, "b") != nil || PolicyFrom(context.Background(), "a") != nil {
		t.Fatal("a policy answered for another store, or from nowhere")
	}
}

func TestPolicyMap(t *testing.T) {
	m := PlaybooksOf(map[string]Playbook{"": {Steps: []Step{{Delay: time.Hour}}}, "x": {Steps: []Step{{Delay: 3 * time.Hour}}}},
		func(p *Policy) { p.HoldoutPercent = 7 })
	if m.Policy("x").Playbook.Steps[0].Delay != 3*time.Hour || m.Policy("other") != m[""] || m.Policy("x").Holdout("") != 7 {
		t.Fatalf("%+v", m)
	}
	if m.LongestDelay() != 3*time.Hour || (PolicyMap{}).Policy("x") == nil {
		t.Fatal("longest delay, or an empty map's policy")
	}
}
