package redis

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/cartrecovery/cartrecovery/recovery"
)

// The cart content kept for the messages (the "d:<id>" key) holds only what
// templates use, and every pending cart pays for it, so it is a positional
// JSON array rather than an object with field names (about a fifth smaller):
//
//	[1, platform, currency, total, recovery_url,
//	 [[title, quantity, price, image_url, url], ...],
//	 [email, phone, first_name, locale, timezone, consent bits (1 email, 2 sms)]]
//
// with trailing empty values left out. The leading 1 is the format version.
// The cart id inside the recovery URL (Shopify's checkout token is in its
// path) is stored as a NUL byte, which no accepted URL contains.
// SKUs and platform customer ids are not kept. The email is left out when it
// is already in its normalized form, which the cart hash keeps as "em" (Load
// puts it back).
const (
	recordVersion = 1
	idMark        = "\x00"
)

func encodeRecord(platform string, c recovery.Cart, cu recovery.Customer) (string, error) {
	email := cu.Email
	if email == recovery.NormalizeEmail(email) {
		email = ""
	}
	items := make([]any, 0, len(c.Items))
	for _, it := range c.Items {
		items = append(items, trim([]any{it.Title, it.Quantity, it.Price, it.ImageURL, it.URL}))
	}
	consent := 0
	if cu.EmailConsent {
		consent |= 1
	}
	if cu.SMSConsent {
		consent |= 2
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // "&" in URLs stays one byte, not "\u0026"
	u := c.RecoveryURL
	if c.ID != "" && !strings.Contains(u, idMark) {
		u = strings.ReplaceAll(u, c.ID, idMark)
	}
	err := enc.Encode(trim([]any{recordVersion, platform, c.Currency, c.Total, u, items,
		trim([]any{email, cu.Phone, cu.FirstName, cu.Locale, cu.Timezone, consent})}))
	return strings.TrimSuffix(b.String(), "\n"), err
}

// trim drops trailing empty strings, zeros and empty lists.
func trim(v []any) []any {
	for len(v) > 0 {
		switch x := v[len(v)-1].(type) {
		case string:
			if x != "" {
				return v
			}
		case int:
			if x != 0 {
				return v
			}
		case []any:
			if len(x) != 0 {
				return v
			}
		default:
			return v
		}
		v = v[:len(v)-1]
	}
	return v
}

func decodeRecord(id, data string) (recovery.Cart, recovery.Customer, error) {
	c, cu, _, err := decodeRecordPf(id, data)
	return c, cu, err
}

// fields decodes a positional array into the pointers given, in order;
// missing trailing values stay zero.
func fields(raw json.RawMessage, dst ...any) error {
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		return err
	}
	for i := 0; i < len(parts) && i < len(dst); i++ {
		if err := json.Unmarshal(parts[i], dst[i]); err != nil {
			return fmt.Errorf("position %d: %w", i, err)
		}
	}
	return nil
}

func decodeRecordPf(id, data string) (recovery.Cart, recovery.Customer, string, error) {
	c, cu := recovery.Cart{ID: id}, recovery.Customer{}
	if data == "" {
		return c, cu, "", nil
	}
	var (
		version     int
		platform    string
		items, cust json.RawMessage
		consent     int
		itemList    []json.RawMessage
		errDecode   error
	)
	errDecode = fields(json.RawMessage(data), &version, &platform, &c.Currency, &c.Total, &c.RecoveryURL, &items, &cust)
	if errDecode == nil && version != recordVersion {
		errDecode = fmt.Errorf("format version %d, want %d", version, recordVersion)
	}
	if errDecode == nil && len(items) > 0 {
		errDecode = json.Unmarshal(items, &itemList)
	}
	for _, raw := range itemList {
		var it recovery.Item
		if errDecode = fields(raw, &it.Title, &it.Quantity, &it.Price, &it.ImageURL, &it.URL); errDecode != nil {
			break
		}
		c.Items = append(c.Items, it)
	}
	if errDecode == nil && len(cust) > 0 {
		errDecode = fields(cust, &cu.Email, &cu.Phone, &cu.FirstName, &cu.Locale, &cu.Timezone, &consent)
	}
	if errDecode != nil {
		return recovery.Cart{ID: id}, recovery.Customer{}, "", fmt.Errorf("decode cart %q: %w", id, errDecode)
	}
	cu.EmailConsent, cu.SMSConsent = consent&1 != 0, consent&2 != 0
	c.RecoveryURL = strings.ReplaceAll(c.RecoveryURL, idMark, id)
	return c, cu, platform, nil
}
