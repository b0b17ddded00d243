package recovery

import (
	"slices"
	"strings"
	"testing"
)

// segEvent is a cart event for condition tests: total 50 EUR, two lines
// (quantities 1 and 2), a returning-unknown customer with locale es-ES in
// ES who consented to email only.
func segEvent() Event {
	return Event{
		Platform: "shopify",
		Store:    "shop-a.myshopify.com",
		Cart: Cart{ID: "c1", Currency: "EUR", Total: "50", Items: []Item{
			{SKU: "SKU-1", Quantity: 1, ProductID: "p1", Tags: []string{"Summer"}},
			{SKU: "SKU-2", Quantity: 2, ProductID: "p2", Tags: []string{"sale", "shoes"}},
		}},
		Customer: Customer{Email: "a@example.com", Locale: "es-ES", Country: "ES", EmailConsent: true},
	}
}

func TestConditionMatch(t *testing.T) {
	withTotal := func(total string) Event { ev := segEvent(); ev.Cart.Total = total; return ev }
	withCurrency := func(cur string) Event { ev := segEvent(); ev.Cart.Currency = cur; return ev }
	withQty := func(q ...int) Event {
		ev := segEvent()
		ev.Cart.Items = nil
		for i, n := range q {
			ev.Cart.Items = append(ev.Cart.Items, Item{SKU: "S" + string(rune('a'+i)), Quantity: n})
		}
		return ev
	}
	withOrders := func(known bool, n int) Event {
		ev := segEvent()
		ev.Customer.OrdersKnown, ev.Customer.Orders = known, n
		return ev
	}
	withLocale := func(l string) Event { ev := segEvent(); ev.Customer.Locale = l; return ev }
	withCountry := func(c string) Event { ev := segEvent(); ev.Customer.Country = c; return ev }
	withConsent := func(email, sms bool) Event {
		ev := segEvent()
		ev.Customer.EmailConsent, ev.Customer.SMSConsent = email, sms
		return ev
	}
	cases := []struct {
		name    string
		c       Condition
		ev      Event
		ordered bool
		want    bool
	}{
		{"zero condition is a catch-all", Condition{}, segEvent(), false, true},
		{"zero condition matches an empty event", Condition{}, Event{}, false, true},

		// totals: min inclusive, max exclusive
		{"total at min_total", Condition{MinTotal: "100"}, withTotal("100"), false, true},
		{"total at min_total written 100.00", Condition{MinTotal: "100"}, withTotal("100.00"), false, true},
		{"total just under min_total", Condition{MinTotal: "100"}, withTotal("99.999"), false, false},
		{"total above min_total", Condition{MinTotal: "100"}, withTotal("100.01"), false, true},
		{"total at max_total", Condition{MaxTotal: "100"}, withTotal("100"), false, false},
		{"total at max_total written 100.000", Condition{MaxTotal: "100"}, withTotal("100.000"), false, false},
		{"total just under max_total", Condition{MaxTotal: "100"}, withTotal("99.999"), false, true},
		{"total at min of [0,100)", Condition{MinTotal: "0", MaxTotal: "100"}, withTotal("0"), false, true},
		{"total at max of [0,100)", Condition{MinTotal: "0", MaxTotal: "100"}, withTotal("100"), false, false},
		{"total at min of [100,inf)", Condition{MinTotal: "100"}, withTotal("100"), false, true},
		{"total with spaces", Condition{MinTotal: "100"}, withTotal(" 150 "), false, true},
		{"empty total, min_total", Condition{MinTotal: "0"}, withTotal(""), false, false},
		{"empty total, max_total", Condition{MaxTotal: "100"}, withTotal(""), false, false},
		{"total abc", Condition{MaxTotal: "100"}, withTotal("abc"), false, false},
		{"total 1e3", Condition{MinTotal: "100"}, withTotal("1e3"), false, false},
		{"total 1E3", Condition{MinTotal: "100"}, withTotal("1E3"), false, false},
		{"total 1/2", Condition{MaxTotal: "100"}, withTotal("1/2"), false, false},
		{"bad total, no total condition", Condition{Currencies: []string{"EUR"}}, withTotal("abc"), false, true},
		{"empty total, no condition", Condition{Customer: CustomerAny}, withTotal(""), false, true},

		// currencies
		{"currency listed", Condition{Currencies: []string{"USD", "EUR"}}, segEvent(), false, true},
		{"currency case-insensitive (cart)", Condition{Currencies: []string{"EUR"}}, withCurrency("eur"), false, true},
		{"currency case-insensitive (condition)", Condition{Currencies: []string{"eur"}}, withCurrency("EUR"), false, true},
		{"currency not listed", Condition{Currencies: []string{"USD"}}, segEvent(), false, false},
		{"empty currency, currency condition", Condition{Currencies: []string{"EUR"}}, withCurrency(""), false, false},
		{"unknown currency, currency condition", Condition{Currencies: []string{"EUR"}}, withCurrency("XXX"), false, false},
		{"empty currency, no currency condition", Condition{MinTotal: "10"}, withCurrency(""), false, true},

		// items: quantities added up, both bounds inclusive, negatives ignored
		{"items sum 3 at min 3", Condition{MinItems: 3}, withQty(1, 2), false, true},
		{"items sum 3 under min 4", Condition{MinItems: 4}, withQty(1, 2), false, false},
		{"items sum 3 at max 3", Condition{MaxItems: 3}, withQty(1, 2), false, true},
		{"items sum 3 over max 2", Condition{MaxItems: 2}, withQty(1, 2), false, false},
		{"items 3 in [3,3]", Condition{MinItems: 3, MaxItems: 3}, withQty(3), false, true},
		{"negative quantity ignored (min)", Condition{MinItems: 3}, withQty(2, -5, 1), false, true},
		{"negative quantity ignored (max)", Condition{MaxItems: 2}, withQty(2, -5, 1), false, false},
		{"only negative quantities count 0", Condition{MinItems: 1}, withQty(-1, -2), false, false},
		{"no lines, max_items", Condition{MaxItems: 5}, withQty(), false, true},
		{"no lines, min_items", Condition{MinItems: 1}, withQty(), false, false},

		// customer: returning = platform count > 0 (when known) or an order seen here
		{"new: nothing known", Condition{Customer: CustomerNew}, withOrders(false, 0), false, true},
		{"returning: nothing known", Condition{Customer: CustomerReturning}, withOrders(false, 0), false, false},
		{"new: known 0", Condition{Customer: CustomerNew}, withOrders(true, 0), false, true},
		{"returning: known 0", Condition{Customer: CustomerReturning}, withOrders(true, 0), false, false},
		{"new: known 3", Condition{Customer: CustomerNew}, withOrders(true, 3), false, false},
		{"returning: known 3", Condition{Customer: CustomerReturning}, withOrders(true, 3), false, true},
		{"new: 3 not known", Condition{Customer: CustomerNew}, withOrders(false, 3), false, true},
		{"returning: 3 not known", Condition{Customer: CustomerReturning}, withOrders(false, 3), false, false},
		{"new: ordered before", Condition{Customer: CustomerNew}, withOrders(false, 0), true, false},
		{"returning: ordered before", Condition{Customer: CustomerReturning}, withOrders(false, 0), true, true},
		{"new: known 0, ordered before", Condition{Customer: CustomerNew}, withOrders(true, 0), true, false},
		{"returning: known 0, ordered before", Condition{Customer: CustomerReturning}, withOrders(true, 0), true, true},
		{"returning: known 3, ordered before", Condition{Customer: CustomerReturning}, withOrders(true, 3), true, true},
		{"new: known 3, ordered before", Condition{Customer: CustomerNew}, withOrders(true, 3), true, false},
		{"any: ordered before", Condition{Customer: CustomerAny}, withOrders(true, 3), true, true},
		{"any: new", Condition{Customer: CustomerAny}, withOrders(true, 0), false, true},

		// locales: a language alone matches its regions; a region only itself
		{"es matches es", Condition{Locales: []string{"es"}}, withLocale("es"), false, true},
		{"es matches es-ES", Condition{Locales: []string{"es"}}, withLocale("es-ES"), false, true},
		{"es matches ES_mx", Condition{Locales: []string{"es"}}, withLocale("ES_mx"), false, true},
		{"es does not match est", Condition{Locales: []string{"es"}}, withLocale("est"), false, false},
		{"es does not match en", Condition{Locales: []string{"es"}}, withLocale("en"), false, false},
		{"es-MX matches es_mx", Condition{Locales: []string{"es-MX"}}, withLocale("es_mx"), false, true},
		{"es-MX matches es-MX", Condition{Locales: []string{"es-MX"}}, withLocale("es-MX"), false, true},
		{"es-MX does not match es", Condition{Locales: []string{"es-MX"}}, withLocale("es"), false, false},
		{"es-MX does not match es-ES", Condition{Locales: []string{"es-MX"}}, withLocale("es-ES"), false, false},
		{"es_MX condition matches es-mx", Condition{Locales: []string{"es_MX"}}, withLocale("es-mx"), false, true},
		{"ES condition matches es-ar", Condition{Locales: []string{"ES"}}, withLocale("es-ar"), false, true},
		{"second locale listed", Condition{Locales: []string{"fr", "es"}}, withLocale("es-ES"), false, true},
		{"missing locale", Condition{Locales: []string{"es"}}, withLocale(""), false, false},
		{"blank locale", Condition{Locales: []string{"es"}}, withLocale("  "), false, false},
		{"missing locale, no locale condition", Condition{Countries: []string{"ES"}}, withLocale(""), false, true},

		// countries
		{"country listed", Condition{Countries: []string{"ES"}}, segEvent(), false, true},
		{"country lower-case cart", Condition{Countries: []string{"ES"}}, withCountry("es"), false, true},
		{"country lower-case condition", Condition{Countries: []string{"es"}}, withCountry("ES"), false, true},
		{"country not listed", Condition{Countries: []string{"FR", "DE"}}, segEvent(), false, false},
		{"missing country", Condition{Countries: []string{"ES"}}, withCountry(""), false, false},

		// lines: any line with one of the values
		{"sku on second line", Condition{SKUs: []string{"SKU-2"}}, segEvent(), false, true},
		{"sku absent", Condition{SKUs: []string{"SKU-9"}}, segEvent(), false, false},
		{"product on first line", Condition{Products: []string{"p1"}}, segEvent(), false, true},
		{"product absent", Condition{Products: []string{"p9"}}, segEvent(), false, false},
		{"tag on second line", Condition{Tags: []string{"shoes"}}, segEvent(), false, true},
		{"tag case-insensitive", Condition{Tags: []string{"summer"}}, segEvent(), false, true},
		{"tag absent", Condition{Tags: []string{"winter"}}, segEvent(), false, false},
		{"sku or product or tag: product holds", Condition{SKUs: []string{"X"}, Products: []string{"p2"}, Tags: []string{"y"}}, segEvent(), false, true},
		{"sku, product, tag: none holds", Condition{SKUs: []string{"X"}, Products: []string{"Y"}, Tags: []string{"Z"}}, segEvent(), false, false},
		{"line condition, no lines", Condition{Tags: []string{"sale"}}, withQty(), false, false},
		{"empty sku never matches", Condition{SKUs: []string{""}}, Event{Cart: Cart{Items: []Item{{Quantity: 1}}}}, false, false},
		{"empty product id never matches", Condition{Products: []string{""}}, segEvent(), false, false},

		// consent
		{"email yes, consented", Condition{EmailConsent: ConsentYes}, withConsent(true, false), false, true},
		{"email yes, not consented", Condition{EmailConsent: ConsentYes}, withConsent(false, false), false, false},
		{"email no, consented", Condition{EmailConsent: ConsentNo}, withConsent(true, false), false, false},
		{"email no, not consented", Condition{EmailConsent: ConsentNo}, withConsent(false, false), false, true},
		{"email any", Condition{EmailConsent: ConsentAny}, withConsent(false, false), false, true},
		{"sms yes, consented", Condition{SMSConsent: ConsentYes}, withConsent(false, true), false, true},
		{"sms yes, not consented", Condition{SMSConsent: ConsentYes}, withConsent(true, false), false, false},
		{"sms no, consented", Condition{SMSConsent: ConsentNo}, withConsent(false, true), false, false},
		{"sms any", Condition{SMSConsent: ConsentAny}, withConsent(true, true), false, true},
		{"email yes and sms no", Condition{EmailConsent: ConsentYes, SMSConsent: ConsentNo}, withConsent(true, false), false, true},
		{"email yes and sms yes, sms missing", Condition{EmailConsent: ConsentYes, SMSConsent: ConsentYes}, withConsent(true, false), false, false},

		// stores and platforms
		{"store listed", Condition{Stores: []string{"other", "shop-a.myshopify.com"}}, segEvent(), false, true},
		{"store not listed", Condition{Stores: []string{"other"}}, segEvent(), false, false},
		{"platform listed", Condition{Platforms: []string{"shopify"}}, segEvent(), false, true},
		{"platform not listed", Condition{Platforms: []string{"woocommerce", "generic"}}, segEvent(), false, false},

		// every condition set must hold
		{"all hold", Condition{MinTotal: "10", MaxTotal: "100", Currencies: []string{"EUR"}, MinItems: 3, MaxItems: 3,
			Customer: CustomerNew, Stores: []string{"shop-a.myshopify.com"}, Platforms: []string{"shopify"}, Locales: []string{"es"},
			Countries: []string{"ES"}, Tags: []string{"sale"}, EmailConsent: ConsentYes, SMSConsent: ConsentNo}, segEvent(), false, true},
		{"all hold but one (customer)", Condition{MinTotal: "10", MaxTotal: "100", Currencies: []string{"EUR"}, MinItems: 3, MaxItems: 3,
			Customer: CustomerNew, Stores: []string{"shop-a.myshopify.com"}, Platforms: []string{"shopify"}, Locales: []string{"es"},
			Countries: []string{"ES"}, Tags: []string{"sale"}, EmailConsent: ConsentYes, SMSConsent: ConsentNo}, segEvent(), true, false},
		{"all hold but one (total)", Condition{MinTotal: "10", MaxTotal: "50", Currencies: []string{"EUR"}}, segEvent(), false, false},
	}
	for _, tc := range cases {
		if got := tc.c.Match(tc.ev, tc.ordered); got != tc.want {
			t.Errorf("%s: Match = %v, want %v (condition %+v, cart total %q currency %q, customer %+v, ordered before %v)",
				tc.name, got, tc.want, tc.c, tc.ev.Cart.Total, tc.ev.Cart.Currency, tc.ev.Customer, tc.ordered)
		}
	}
}

// TestConditionMatchPrefixedTotals: a total in another base is not a
// decimal, so a total condition does not hold for it (big.Rat alone would
// read "0x10" as 16).
func TestConditionMatchPrefixedTotals(t *testing.T) {
	for _, tc := range []struct{ total, min string }{
		{"0x10", "10"}, {"0b11", "1"}, {"0o17", "1"}, {"0x1p4", "1"}, {"0x_10", "1"},
	} {
		ev := segEvent()
		ev.Cart.Total = tc.total
		if (Condition{MinTotal: tc.min}).Match(ev, false) {
			t.Errorf("total %q: min_total %s holds, want no match (not a decimal)", tc.total, tc.min)
		}
	}
}

// TestConditionMatchItemsOverflow: quantities large enough to overflow an
// int when added up still count as many items, not as a negative number.
func TestConditionMatchItemsOverflow(t *testing.T) {
	const huge = int(^uint(0) >> 1)
	ev := segEvent()
	ev.Cart.Items = []Item{{SKU: "a", Quantity: huge}, {SKU: "b", Quantity: huge}}
	if !(Condition{MinItems: 1}).Match(ev, false) {
		t.Errorf("two lines of quantity %d: min_items 1 not met", huge)
	}
	if (Condition{MaxItems: 10}).Match(ev, false) {
		t.Errorf("two lines of quantity %d: max_items 10 met", huge)
	}
}

func TestConditionIsZero(t *testing.T) {
	for _, c := range []Condition{{}, {Customer: CustomerAny}, {EmailConsent: ConsentAny, SMSConsent: ConsentAny}} {
		if !c.IsZero() {
			t.Errorf("%+v: IsZero false", c)
		}
	}
	for _, c := range []Condition{{MinTotal: "0"}, {MaxTotal: "1"}, {Currencies: []string{"EUR"}}, {MinItems: 1}, {MaxItems: 1},
		{Customer: CustomerNew}, {Stores: []string{"s"}}, {Platforms: []string{"shopify"}}, {Locales: []string{"es"}},
		{Countries: []string{"ES"}}, {SKUs: []string{"x"}}, {Products: []string{"x"}}, {Tags: []string{"x"}},
		{EmailConsent: ConsentYes}, {SMSConsent: ConsentNo}} {
		if c.IsZero() {
			t.Errorf("%+v: IsZero true", c)
		}
	}
}

func TestPlaybookChoose(t *testing.T) {
	defSteps := []Step{{Name: "first-reminder", Template: "first-reminder"}}
	pb := Playbook{
		Steps: defSteps,
		Segments: []Segment{
			{Name: "high-value", When: Condition{MinTotal: "100"}, Steps: []Step{{Name: "hv-1"}}, Holdout: -1},
			{Name: "spanish", When: Condition{Locales: []string{"es"}}, Steps: []Step{{Name: "es-1"}, {Name: "es-2"}}, Holdout: 10},
			{Name: "returning", When: Condition{Customer: CustomerReturning}, Steps: []Step{{Name: "ret-1"}}, Holdout: -1},
		},
	}
	ev := func(total, locale string) Event {
		e := segEvent()
		e.Cart.Total, e.Customer.Locale = total, locale
		return e
	}
	cases := []struct {
		name    string
		ev      Event
		ordered bool
		want    string
	}{
		{"both first and second match: first wins", ev("150", "es-ES"), false, "high-value"},
		{"second only", ev("99.99", "es-MX"), false, "spanish"},
		{"third only", ev("10", "en"), true, "returning"},
		{"second and third: second wins", ev("10", "es"), true, "spanish"},
		{"none", ev("10", "en"), false, ""},
		{"none: bad total and no locale", ev("abc", ""), false, ""},
	}
	for _, tc := range cases {
		if got := pb.Choose(tc.ev, tc.ordered); got != tc.want {
			t.Errorf("%s: Choose = %q, want %q", tc.name, got, tc.want)
		}
	}

	// a catch-all takes every cart the segments before it leave
	withAll := pb
	withAll.Segments = append(slices.Clone(pb.Segments), Segment{Name: "everyone", Steps: []Step{{Name: "all-1"}}})
	if got := withAll.Choose(ev("10", "en"), false); got != "everyone" {
		t.Errorf("catch-all: Choose = %q, want everyone", got)
	}
	if got := withAll.Choose(ev("150", "en"), false); got != "high-value" {
		t.Errorf("catch-all last: Choose = %q, want high-value", got)
	}
	first := Playbook{Steps: defSteps, Segments: append([]Segment{{Name: "everyone"}}, pb.Segments...)}
	if got := first.Choose(ev("150", "es"), true); got != "everyone" {
		t.Errorf("catch-all first: Choose = %q, want everyone", got)
	}
	if got := (Playbook{Steps: defSteps}).Choose(segEvent(), true); got != "" {
		t.Errorf("no segments: Choose = %q, want \"\"", got)
	}

	// sequences
	if s := pb.Sequence("spanish"); len(s) != 2 || s[0].Name != "es-1" || s[1].Name != "es-2" {
		t.Errorf("Sequence(spanish) = %+v", s)
	}
	for _, name := range []string{"", DefaultSegment} {
		if s := pb.Sequence(name); len(s) != 1 || s[0].Name != "first-reminder" {
			t.Errorf("Sequence(%q) = %+v, want the default steps", name, s)
		}
	}
	// a segment no longer configured (names are case-sensitive): none, so
	// its carts' sequences end
	for _, name := range []string{"unknown", "High-Value"} {
		if s := pb.Sequence(name); s != nil {
			t.Errorf("Sequence(%q) = %+v, want none", name, s)
		}
	}
	if s, ok := pb.Segment("spanish"); !ok || s.Holdout != 10 || s.Name != "spanish" {
		t.Errorf("Segment(spanish) = %+v, %v", s, ok)
	}
	if _, ok := pb.Segment(""); ok {
		t.Error(`Segment("") found`)
	}
	if _, ok := pb.Segment("gone"); ok {
		t.Error("Segment(gone) found")
	}

	// history is needed for new/returning segments only
	for _, tc := range []struct {
		pb   Playbook
		want bool
	}{
		{pb, true},
		{Playbook{Segments: []Segment{{Name: "a", When: Condition{Customer: CustomerNew}}}}, true},
		{Playbook{Segments: []Segment{{Name: "a", When: Condition{Customer: CustomerAny}}}}, false},
		{Playbook{Segments: []Segment{{Name: "a", When: Condition{MinTotal: "1"}}, {Name: "b", When: Condition{Locales: []string{"es"}}}}}, false},
		{Playbook{Steps: defSteps}, false},
	} {
		if got := tc.pb.NeedsHistory(); got != tc.want {
			t.Errorf("NeedsHistory of %+v = %v, want %v", tc.pb.Segments, got, tc.want)
		}
	}
}

func TestConditionOverlap(t *testing.T) {
	cases := []struct {
		name string
		a, b Condition
		want bool
	}{
		{"[0,100) and [100,inf)", Condition{MinTotal: "0", MaxTotal: "100"}, Condition{MinTotal: "100"}, false},
		{"[100,inf) and [0,100)", Condition{MinTotal: "100"}, Condition{MinTotal: "0", MaxTotal: "100"}, false},
		{"(-inf,100) and [100,inf)", Condition{MaxTotal: "100"}, Condition{MinTotal: "100"}, false},
		{"[0,100) and [50,inf)", Condition{MinTotal: "0", MaxTotal: "100"}, Condition{MinTotal: "50"}, true},
		{"[50,inf) and [0,100)", Condition{MinTotal: "50"}, Condition{MinTotal: "0", MaxTotal: "100"}, true},
		{"[0,100.00) and [99.99,inf)", Condition{MinTotal: "0", MaxTotal: "100.00"}, Condition{MinTotal: "99.99"}, true},
		{"[0,50) and [50,100)", Condition{MaxTotal: "50"}, Condition{MinTotal: "50", MaxTotal: "100"}, false},
		{"[0,50) and [60,100)", Condition{MaxTotal: "50"}, Condition{MinTotal: "60", MaxTotal: "100"}, false},
		{"[10,20) and [0,100)", Condition{MinTotal: "10", MaxTotal: "20"}, Condition{MinTotal: "0", MaxTotal: "100"}, true},
		{"total vs no total", Condition{MinTotal: "100"}, Condition{}, true},
		{"new and returning", Condition{Customer: CustomerNew}, Condition{Customer: CustomerReturning}, false},
		{"returning and new", Condition{Customer: CustomerReturning}, Condition{Customer: CustomerNew}, false},
		{"new and any", Condition{Customer: CustomerNew}, Condition{Customer: CustomerAny}, true},
		{"new and new", Condition{Customer: CustomerNew}, Condition{Customer: CustomerNew}, true},
		{"disjoint currencies", Condition{Currencies: []string{"EUR"}}, Condition{Currencies: []string{"USD", "GBP"}}, false},
		{"shared currency (case)", Condition{Currencies: []string{"EUR", "USD"}}, Condition{Currencies: []string{"usd"}}, true},
		{"currency vs none", Condition{Currencies: []string{"EUR"}}, Condition{MinTotal: "5"}, true},
		{"es and es-MX", Condition{Locales: []string{"es"}}, Condition{Locales: []string{"es-MX"}}, true},
		{"es-MX and es", Condition{Locales: []string{"es-MX"}}, Condition{Locales: []string{"es"}}, true},
		{"es-MX and es_mx", Condition{Locales: []string{"es-MX"}}, Condition{Locales: []string{"es_mx"}}, true},
		{"es-MX and es-ES", Condition{Locales: []string{"es-MX"}}, Condition{Locales: []string{"es-ES"}}, false},
		{"es and fr", Condition{Locales: []string{"es"}}, Condition{Locales: []string{"fr"}}, false},
		{"es and est", Condition{Locales: []string{"es"}}, Condition{Locales: []string{"est"}}, false},
		{"fr, es-MX and de, es", Condition{Locales: []string{"fr", "es-MX"}}, Condition{Locales: []string{"de", "es"}}, true},
		{"de, es and fr, es-MX", Condition{Locales: []string{"de", "es"}}, Condition{Locales: []string{"fr", "es-MX"}}, true},
		{"email yes and no", Condition{EmailConsent: ConsentYes}, Condition{EmailConsent: ConsentNo}, false},
		{"sms no and yes", Condition{SMSConsent: ConsentNo}, Condition{SMSConsent: ConsentYes}, false},
		{"email yes and any", Condition{EmailConsent: ConsentYes}, Condition{EmailConsent: ConsentAny}, true},
		{"email yes and sms no", Condition{EmailConsent: ConsentYes}, Condition{SMSConsent: ConsentNo}, true},
		{"items [1,2] and [3,0]", Condition{MinItems: 1, MaxItems: 2}, Condition{MinItems: 3}, false},
		{"items [3,0] and [1,2]", Condition{MinItems: 3}, Condition{MinItems: 1, MaxItems: 2}, false},
		{"items [1,3] and [3,0]", Condition{MinItems: 1, MaxItems: 3}, Condition{MinItems: 3}, true},
		{"countries disjoint", Condition{Countries: []string{"ES"}}, Condition{Countries: []string{"FR"}}, false},
		{"countries shared", Condition{Countries: []string{"ES"}}, Condition{Countries: []string{"fr", "es"}}, true},
		{"platforms disjoint", Condition{Platforms: []string{"shopify"}}, Condition{Platforms: []string{"generic"}}, false},
		{"stores disjoint", Condition{Stores: []string{"a"}}, Condition{Stores: []string{"b"}}, false},
		{"different dimensions", Condition{MinTotal: "100"}, Condition{Locales: []string{"es"}}, true},
		{"zero and anything", Condition{}, Condition{Customer: CustomerNew, MinTotal: "5"}, true},
	}
	for _, tc := range cases {
		if got := tc.a.Overlap(tc.b); got != tc.want {
			t.Errorf("%s: Overlap = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestValidSegmentName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"high-value", true}, {"vip_2", true}, {"a", true}, {"0", true}, {strings.Repeat("a", 40), true},
		{"default", false}, {"", false}, {"Has Caps", false}, {"Caps", false}, {"has space", false}, {"a/b", false},
		{"a|b", false}, {"a@b", false}, {"a.b", false}, {strings.Repeat("a", 41), false}, {"ñ", false},
	} {
		if got := ValidSegmentName(tc.name); got != tc.ok {
			t.Errorf("ValidSegmentName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestQualifiedStep(t *testing.T) {
	for _, tc := range []struct{ segment, step, qualified string }{
		{"", "first-reminder", "first-reminder"},
		{"high-value", "first-reminder", "high-value/first-reminder"},
		{"vip_2", "a", "vip_2/a"},
	} {
		q := QualifiedStep(tc.segment, tc.step)
		if q != tc.qualified {
			t.Errorf("QualifiedStep(%q, %q) = %q, want %q", tc.segment, tc.step, q, tc.qualified)
		}
		if got := SegmentOf(q); got != tc.segment {
			t.Errorf("SegmentOf(%q) = %q, want %q", q, got, tc.segment)
		}
	}
	if got := SegmentOf(""); got != "" {
		t.Errorf(`SegmentOf("") = %q`, got)
	}
}

// FuzzConditionMatch: Match and Overlap never panic, whatever the totals,
// locales and quantities, and hold their documented invariants.
func FuzzConditionMatch(f *testing.F) {
	seeds := []struct {
		total, minT, maxT, locale, want string
		q1, q2, minI, maxI              int
	}{
		{"100", "100", "", "es", "es", 1, 2, 0, 0},
		{"100", "", "100", "es-ES", "es", 1, 2, 3, 3},
		{"99.999", "0", "100", "ES_mx", "es-MX", -1, 4, 1, 0},
		{"", "0", "", "", "es", 0, 0, 0, 5},
		{"abc", "", "1", "est", "es", 0, 0, 0, 0},
		{"1e3", "1", "", "es-", "es-", 1, 1, 0, 0},
		{"1/2", "", "", "-", "_", 1, 1, 0, 0},
		{"0x10", "10", "", "es__MX", "es", 1 << 62, 1 << 62, 1, 0},
		{"-5", "0", "", "xx-yy-zz", "xx", -1 << 63, 3, 0, 0},
		{" 12.50 ", "12.5", "12.51", "\x00", "\xff", 2, 2, 0, 4},
		{"1" + strings.Repeat("0", 300), "1", "", "a", "a-b", 1, 1, 0, 0},
	}
	for _, s := range seeds {
		f.Add(s.total, s.minT, s.maxT, s.locale, s.want, s.q1, s.q2, s.minI, s.maxI)
	}
	f.Fuzz(func(t *testing.T, total, minT, maxT, locale, want string, q1, q2, minI, maxI int) {
		ev := Event{Cart: Cart{Total: total, Currency: "EUR", Items: []Item{{Quantity: q1}, {Quantity: q2}}},
			Customer: Customer{Locale: locale}}
		c := Condition{MinTotal: minT, MaxTotal: maxT, MinItems: minI, MaxItems: maxI, Locales: []string{want}}
		got := c.Match(ev, false)
		_ = c.Overlap(Condition{MinTotal: maxT, MaxTotal: minT, Locales: []string{locale}})
		_ = (Condition{Locales: []string{locale}}).Overlap(c)
		if (Condition{}).Match(ev, q1 > 0) != true {
			t.Fatal("the zero condition refused a cart")
		}
		if strings.TrimSpace(locale) == "" && got {
			t.Fatalf("no locale, yet locale condition %q held", want)
		}
		// the total bounds alone: a match is within [min, max)
		tc := Condition{MinTotal: minT, MaxTotal: maxT}
		if (minT != "" || maxT != "") && tc.Match(ev, false) {
			if _, ok := decimal(total); !ok {
				t.Fatalf("total %q is not a decimal, yet bounds [%q, %q) held", total, minT, maxT)
			}
		}
		// a total range never matches a cart outside the interval it states
		if _, ok := decimal(minT); ok && minT == maxT && tc.Match(ev, false) {
			t.Fatalf("empty range [%q, %q) held for %q", minT, maxT, total)
		}
	})
}
