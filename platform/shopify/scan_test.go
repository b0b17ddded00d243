package shopify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cartrecovery/cartrecovery/platform/field"
)

// sameAsDecode checks scanShopify against decode (encoding/json), the
// reference: where the fast path takes a body, decode must take it too and
// produce the same payload. It returns whether the fast path took it.
func sameAsDecode(t *testing.T, body []byte) bool {
	t.Helper()
	var fast, ref shopifyPayload
	ok := scanShopify(body, &fast)
	err := field.Decode(body, &ref)
	if !ok {
		return false
	}
	if err != nil {
		t.Fatalf("fast path took a body encoding/json refuses (%v): %.200q", err, body)
	}
	if !reflect.DeepEqual(fast, ref) {
		t.Fatalf("fast path decoded\n%#v\nencoding/json\n%#v\nbody %.300q", fast, ref, body)
	}
	return true
}

func shopifyFixtures(t testing.TB) map[string][]byte {
	files, _ := filepath.Glob("testdata/*.json")
	out := map[string][]byte{}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(name)] = b
	}
	if len(out) == 0 {
		t.Fatal("no fixtures")
	}
	return out
}

// Every one of Shopify's samples takes the fast path.
func TestScanShopifyFixtures(t *testing.T) {
	for name, b := range shopifyFixtures(t) {
		if !sameAsDecode(t, b) {
			t.Errorf("%s: not taken by the fast path", name)
		}
	}
}

// TestScanShopifyEveryField: a payload with every field of the structs set
// takes the fast path and decodes like encoding/json; a field added to a
// struct but not to the fast path would make this fail.
func TestScanShopifyEveryField(t *testing.T) {
	n := 0
	var fill func(t reflect.Type) any
	fill = func(rt reflect.Type) any {
		if rt.Kind() == reflect.Pointer {
			rt = rt.Elem()
		}
		switch {
		case rt == field.TypeOf[field.ID]():
			n++
			if n%2 == 0 {
				return json.Number(fmt.Sprint(9007199254740993 + n))
			}
			return fmt.Sprint("id-", n)
		case rt.Kind() == reflect.String:
			n++
			return fmt.Sprint("v", n, " ✓")
		case rt.Kind() == reflect.Bool:
			return true
		case rt.Kind() == reflect.Int64:
			n++
			return n
		case rt.Kind() == reflect.Slice:
			return []any{fill(rt.Elem()), fill(rt.Elem())}
		case rt.Kind() == reflect.Struct:
			m := map[string]any{"unknown": map[string]any{"x": []any{1, "2", nil, true}}}
			for i := range rt.NumField() {
				name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
				m[name] = fill(rt.Field(i).Type)
			}
			return m
		}
		t.Fatalf("no value for %s", rt)
		return nil
	}
	body, err := json.Marshal(fill(field.TypeOf[shopifyPayload]()))
	if err != nil {
		t.Fatal(err)
	}
	if !sameAsDecode(t, body) {
		t.Fatalf("not taken by the fast path: %s", body)
	}
	var p shopifyPayload
	scanShopify(body, &p)
	if p.Customer == nil || p.Customer.DefaultAddress == nil || p.ShippingAddress == nil || len(p.LineItems) != 2 || p.LineItems[1].Quantity == 0 {
		t.Fatalf("fields left empty: %+v", p)
	}
}

// scanCases are variants of a small checkout: each either takes the fast
// path with encoding/json's result, or is left to encoding/json.
var scanCases = []struct {
	body string
	fast bool // whether the fast path must take it
}{
	{`{}`, true},
	{` {"token":"t"} ` + "\n\t\r", true},
	{`{"token":"t","unknown":{"a":[1,-2.5e+3,0,-0,1E2,true,false,null,"x\"\\\/\b\f\n\r\t\u00e9"],"b":{}},"c":[]}`, true},
	{`{"token":"t\u00e9\"\ud83d\ude00"}`, true},
	{`{"token":"t\ud800"}`, true},       // lone surrogate: U+FFFD, as encoding/json
	{"{\"token\":\"t\xff\xfe\"}", true}, // invalid UTF-8: U+FFFD
	{"{\"email\":\"jos\xc3\xa9@example.com\"}", true},
	{"{\"x\xff\":1}", true},
	{`{"id":123,"checkout_id":"456","customer":{"id":18446744073709551615}}`, true},
	{`{"id":null,"customer":null,"line_items":null,"billing_address":null,"buyer_accepts_marketing":null,"total_price":null}`, true},
	{`{"line_items":[]}`, true},
	{`{"line_items":[{"quantity":null},{"quantity":-3,"price":"1.00"}]}`, true},
	{`{"customer":{},"shipping_address":{},"line_items":[{}]}`, true},
	{`{"buyer_accepts_marketing":true,"buyer_accepts_sms_marketing":false}`, true},
	// left to encoding/json: errors...
	{``, false},
	{`   `, false},
	{`null`, false},
	{`[]`, false},
	{`"x"`, false},
	{`{`, false},
	{`{"token":"t"`, false},
	{`{"token":"t",}`, false},
	{`{"token":"t"}x`, false},
	{`{"token":"t"} {}`, false},
	{`{"token" "t"}`, false},
	{`{token:"t"}`, false},
	{`{"a":01}`, false},
	{`{"a":1.}`, false},
	{`{"a":.5}`, false},
	{`{"a":1e}`, false},
	{`{"a":+1}`, false},
	{`{"a":-}`, false},
	{`{"a":tru}`, false},
	{`{"a":nul}`, false},
	{`{"a":[1,]}`, false},
	{`{"a":[1 2]}`, false},
	{`{"a":{"b":1,}}`, false},
	{`{"a":"\x"}`, false},
	{`{"a":"\u12"}`, false},
	{"{\"a\":\"x\ty\"}", false},
	{`{"id":-1}`, false},
	{`{"id":1.5}`, false},
	{`{"id":1e3}`, false},
	{`{"id":18446744073709551616}`, false},
	{`{"id":true}`, false},
	{`{"token":1}`, false},
	{`{"total_price":421.88}`, false},
	{`{"buyer_accepts_marketing":"yes"}`, false},
	{`{"customer":"x"}`, false},
	{`{"customer":[]}`, false},
	{`{"line_items":{}}`, false},
	{`{"line_items":[null]}`, false},
	{`{"line_items":[1]}`, false},
	{`{"line_items":[{"quantity":"1"}]}`, false},
	{`{"line_items":[{"quantity":1.0}]}`, false},
	{`{"line_items":[{"quantity":99999999999999999999}]}`, false},
	// ...and what encoding/json takes differently: duplicates, folded or
	// escaped keys.
	{`{"email":"a@b.co","email":null}`, false},
	{`{"id":1,"id":null}`, false},
	{`{"customer":{"email":"a"},"customer":{"phone":"b"}}`, false},
	{`{"line_items":[{"title":"a"}],"line_items":[{"sku":"b"}]}`, false},
	{`{"line_items":[{"title":"a","title":"b"}]}`, false},
	{`{"Email":"a@b.co"}`, false},
	{`{"TOKEN":"t"}`, false},
	{`{"token":"t","Token":"u"}`, false},
	{"{\"\xc5\xbfms_marketing_phone\":\"x\"}", false},                             // ſ folds to s
	{"{\"line_items\":[{\"\xe2\x84\xaaey\":1,\"s\xe2\x84\xaau\":\"x\"}]}", false}, // K folds to k
	{`{"customer":{"First_Name":"x"}}`, false},
	{`{"tok\u0065n":"t"}`, false},
	{`{"a\"b":1}`, false},
	{strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100), false},
	// keys unlike any field stay on the fast path
	{`{"Note":"x","ÉMAIL":"y","tokens":"z","X-Y":1}`, true},
}

func TestScanShopifyCases(t *testing.T) {
	for _, tc := range scanCases {
		if got := sameAsDecode(t, []byte(tc.body)); got != tc.fast {
			t.Errorf("%.80q: fast path %v, want %v", tc.body, got, tc.fast)
		}
	}
}

// TestScanShopifyMutations: every prefix-truncation and single-byte change
// of a fixture, at a sample of offsets, is decoded like encoding/json.
func TestScanShopifyMutations(t *testing.T) {
	body := shopifyFixtures(t)["checkouts_create.json"]
	subst := []byte{'"', '\\', '{', '}', '[', ']', ',', ':', ' ', '0', '-', 'n', 'E', 0, 0xff}
	for i := 0; i < len(body); i += 7 {
		sameAsDecode(t, body[:i])
		for _, c := range subst {
			b := append([]byte(nil), body...)
			b[i] = c
			sameAsDecode(t, b)
		}
	}
}

func FuzzScanShopify(f *testing.F) {
	for _, b := range shopifyFixtures(f) {
		f.Add(b)
	}
	for _, tc := range scanCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sameAsDecode(t, body)
	})
}

func BenchmarkParseShopify(b *testing.B) {
	body := shopifyFixtures(b)["checkouts_create.json"]
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse("checkouts/create", "shop.myshopify.com", "wh", body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeShopify compares the fast path with encoding/json on
// Shopify's sample checkout, as stored (indented) and compact (as Shopify
// sends it).
func BenchmarkDecodeShopify(b *testing.B) {
	indented := shopifyFixtures(b)["checkouts_create.json"]
	var compact bytes.Buffer
	if err := json.Compact(&compact, indented); err != nil {
		b.Fatal(err)
	}
	for _, body := range [][]byte{indented, compact.Bytes()} {
		b.Run(fmt.Sprintf("encoding-json-%dB", len(body)), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var p shopifyPayload
				if err := field.Decode(body, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("scan-%dB", len(body)), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var p shopifyPayload
				if !scanShopify(body, &p) {
					b.Fatal("fallback")
				}
			}
		})
	}
}
