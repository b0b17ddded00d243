package redis

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

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
// with trailing empty values left out. The leading number is the format
// version. The cart id inside the recovery URL (Shopify's checkout token is
// in its path) is stored as one byte that no accepted URL contains (a URL
// with a control character does not parse): DEL (0x7f) since version 2,
// which JSON keeps as one byte; NUL, which JSON writes as six, in version 1,
// still read.
// SKUs and platform customer ids are not kept. The email is left out when it
// is already in its normalized form, which the cart hash keeps as "em" (Load
// puts it back).
const (
	recordVersion = 2
	idMark        = "\x7f"
	idMarkV1      = "\x00"
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
	u := c.RecoveryURL
	if c.ID != "" && !strings.Contains(u, idMark) {
		u = strings.ReplaceAll(u, c.ID, idMark)
	}
	b := appendValue(make([]byte, 0, 256), trim([]any{recordVersion, platform, c.Currency, c.Total, u, items,
		trim([]any{email, cu.Phone, cu.FirstName, cu.Locale, cu.Timezone, consent})}))
	return string(b), nil
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendString(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendValue(b, e)
		}
		return append(b, ']')
	}
	panic(fmt.Sprintf("record: %T", v))
}

const hexDigits = "0123456789abcdef"

// appendString is encoding/json's string encoding without HTML escaping.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
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

// decodeRecord reads a record: the cart, its shopper and its platform.
func decodeRecord(id, data string) (recovery.Cart, recovery.Customer, string, error) {
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
	mark := idMark
	switch {
	case errDecode != nil:
	case version == 1:
		mark = idMarkV1
	case version != recordVersion:
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
	c.RecoveryURL = strings.ReplaceAll(c.RecoveryURL, mark, id)
	return c, cu, platform, nil
}
