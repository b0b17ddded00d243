package recovery

import (
	"fmt"
	"testing"
)

func TestPickVariant(t *testing.T) {
	step := Step{Name: "first-reminder", Template: "first-reminder", Discount: Discount{Code: "TEN"},
		Variants: []Variant{{Name: "b", Template: "b-tmpl", Weight: 30}, {Name: "c", Template: "c-tmpl", Weight: 20, Discount: Discount{Code: "TWENTY"}}}}
	got := map[string]int{}
	for i := range 20000 {
		cart := fmt.Sprintf("cart-%d", i)
		v := step.PickVariant("shop", cart)
		if again := step.PickVariant("shop", cart); again.Name != v.Name {
			t.Fatalf("cart %s: %s then %s", cart, v.Name, again.Name)
		}
		switch v.Name {
		case "a":
			if v.Template != "first-reminder" || v.Discount.Code != "TEN" {
				t.Fatalf("a: %+v", v)
			}
		case "b":
			if v.Template != "b-tmpl" || v.Discount.Code != "TEN" { // inherits the step's discount
				t.Fatalf("b: %+v", v)
			}
		case "c":
			if v.Template != "c-tmpl" || v.Discount.Code != "TWENTY" {
				t.Fatalf("c: %+v", v)
			}
		}
		got[v.Name]++
	}
	// weights 50/30/20 within two percentage points
	for name, want := range map[string]int{"a": 50, "b": 30, "c": 20} {
		if pct := got[name] * 100 / 20000; pct < want-2 || pct > want+2 {
			t.Errorf("variant %s: %d%% of carts, want about %d%%", name, pct, want)
		}
	}
	if v := (Step{Template: "x"}).PickVariant("shop", "c"); v.Name != BaseVariant || v.Template != "x" {
		t.Errorf("no variants: %+v", v)
	}
}
