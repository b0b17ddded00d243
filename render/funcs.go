package render

import (
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/cartrecovery/cartrecovery/money"
)

// The template functions money and date format for the customer's locale
// (see formatTag). Templates call them as
//
//	{{money .Cart.Total .Cart.Currency}}
//	{{date "long" .Discount.ExpiresAt}}   {{date "2 January 2006" .Discount.ExpiresAt}}
//
// and Render binds them to the locale of the message (each template file is
// cloned once per locale with its functions; see Renderer.clone).
//
// money(amount, currency): amount is a decimal string and is never turned
// into a float. It is rounded half away from zero to the currency's minor
// digits (money.Digits: JPY 0, EUR 2, KWD 3; "1234.5" JPY → 1,235) and
// written with the locale's digits, decimal and grouping separators and minus
// sign, which are read from golang.org/x/text (message + number) by
// formatting known numbers, once per locale. The symbol is x/text's
// currency.Symbol for the locale (de-CH EUR is "EUR", fr USD "$US", en-IE USD
// "US$"), except that the full-width yen "￥" that CLDR gives ja is printed
// "¥" (U+00A5). Where the symbol goes follows CLDR's currency patterns, which
// x/text does not carry (table symbolPlace):
//
//	prefix                      en, ja, zh, ko, tr, hi, es-419 (es-MX…), and any language not listed
//	prefix + no-break space     nl, pt (Brazil), de-AT, de-CH, de-LI, it-CH
//	no-break space + suffix     de, fr, es (Spain), it, pt-PT, pl, sv, da, fi, nb, cs, ru…
//
// and a prefix symbol that ends with a letter is followed by a no-break space
// (CLDR currency spacing): "CHF 59.90", but "US$5.00". The minus sign comes
// first: "-€5.00", "-5,00 €". Separators are x/text's (CLDR 32), so fr groups
// with U+00A0 (newer CLDR has U+202F) and es groups 1.234 (x/text does not
// apply CLDR's minimum grouping digits). An unknown currency code is written
// after the number ("1.234,50 XYZ"); no currency, the number alone. An amount
// that is not a decimal is returned as given, followed by the code.
//
// date(layout, t): t in the customer's time zone (Render converts the data's
// times to it: Customer.Timezone, else Store.Timezone, else UTC). layout is a
// Go layout, whose month and weekday names (January, Jan, Monday, Mon) are
// given in the locale's language for en, es, de, fr, it, pt, nl and ja
// (English for the others), or one of the styles "long", "medium", "short"
// giving the locale's own pattern: es long "5 de noviembre de 2026", de long
// "5. November 2026", en-US "November 5, 2026", en-GB "5 November 2026", ja
// "2026年11月5日". An empty layout is "2 Jan 2006".
//
// In SMS files both functions use plain spaces, "'" and "-" instead of
// no-break spaces, "’" and "−", which GSM-7 lacks.

// Money formats amount in currency for English ("$1,234.50", "CHF 59.90"):
// what money gives a customer without a locale.
func Money(amount, currency string) string {
	return formatterFor(language.English).money(amount, currency)
}

// FormatMoney formats amount in currency for locale, as money does in a
// template rendered for that locale.
func FormatMoney(locale, amount, currency string) string {
	return formatterFor(formatTag(locale)).money(amount, currency)
}

// Date formats t in UTC for English ("2 Jan 2006" when layout is empty).
func Date(layout string, t time.Time) string {
	return formatterFor(language.English).date(layout, t.UTC())
}

// FormatDate formats t, in its own location, for locale, as date does in a
// template rendered for that locale.
func FormatDate(locale, layout string, t time.Time) string {
	return formatterFor(formatTag(locale)).date(layout, t)
}

const nbsp = "\u00a0"

// formatter holds what money and date need for one locale.
type formatter struct {
	key     string // formatTag's String
	tag     language.Tag
	num     numberSymbols
	place   place
	names   *dateNames // nil: English
	styles  map[string]string
	symbols sync.Map // currency code → symbol
	text    map[string]any
	sms     map[string]any
}

var formatters sync.Map // tag string → *formatter; bounded by language.NumCompactTags

func formatterFor(t language.Tag) *formatter {
	if f, ok := formatters.Load(t.String()); ok {
		return f.(*formatter)
	}
	f := &formatter{key: t.String(), tag: t, num: numberSymbolsFor(t), place: placeFor(t)}
	f.names, f.styles = datesFor(t)
	f.text = map[string]any{"money": f.money, "date": f.date}
	f.sms = map[string]any{
		"money": func(a, c string) string { return smsSafe.Replace(f.money(a, c)) },
		"date":  func(l string, t time.Time) string { return smsSafe.Replace(f.date(l, t)) },
	}
	g, _ := formatters.LoadOrStore(f.key, f)
	return g.(*formatter)
}

// funcs are the template functions for a file (sms: an SMS part).
func (f *formatter) funcs(sms bool) map[string]any {
	if sms {
		return f.sms
	}
	return f.text
}

// smsSafe maps the characters CLDR formats use that GSM-7 lacks.
var smsSafe = strings.NewReplacer("\u00a0", " ", "\u202f", " ", "\u2009", " ", "’", "'", "\u2212", "-")

// numberSymbols are a locale's digits and signs, read from x/text.
type numberSymbols struct {
	zero               rune
	decimal, group     string
	minus              string
	primary, secondary int // group sizes (3, 3; 3, 2 in hi); 0: no grouping
}

var englishNumbers = numberSymbols{zero: '0', decimal: ".", group: ",", minus: "-", primary: 3, secondary: 3}

// numberSymbolsFor reads t's symbols by formatting known numbers with
// golang.org/x/text (no customer amount goes through x/text or a float).
func numberSymbolsFor(t language.Tag) numberSymbols {
	p := message.NewPrinter(t)
	s := numberSymbols{}
	z := []rune(p.Sprint(number.Decimal(0)))
	if len(z) != 1 || !unicode.IsDigit(z[0]) {
		return englishNumbers
	}
	s.zero = z[0]
	isDigit := func(r rune) bool { return r >= s.zero && r <= s.zero+9 }
	// 1234567890: the runs of digits give the group sizes, what is between
	// them the separator.
	var runs []int
	var seps []string
	n, sep := 0, ""
	for _, r := range p.Sprint(number.Decimal(1234567890)) {
		if isDigit(r) {
			if sep != "" {
				runs, seps = append(runs, n), append(seps, sep)
				n, sep = 0, ""
			}
			n++
			continue
		}
		sep += string(r)
	}
	runs = append(runs, n)
	if len(runs) > 1 {
		s.group = seps[0]
		s.primary = runs[len(runs)-1]
		s.secondary = runs[len(runs)-2]
		if len(runs) == 2 {
			s.secondary = s.primary
		}
	}
	s.decimal = strings.TrimFunc(p.Sprint(number.Decimal(1.5)), isDigit)
	minus := p.Sprint(number.Decimal(-1))
	if i := strings.IndexRune(minus, s.zero+1); i > 0 {
		s.minus = minus[:i]
	}
	if s.decimal == "" || s.minus == "" {
		return englishNumbers
	}
	return s
}

// format writes a canonical unsigned decimal ("1234.50") with the locale's
// digits and separators.
func (s numberSymbols) format(dec string) string {
	whole, frac, _ := strings.Cut(dec, ".")
	var b strings.Builder
	digit := func(r rune) { b.WriteRune(s.zero + (r - '0')) }
	// group boundaries counted from the right: primary, then secondary
	n := len(whole)
	breaks := map[int]bool{}
	if s.primary > 0 {
		for i := n - s.primary; i > 0; i -= s.secondary {
			breaks[i] = true
		}
	}
	for i, r := range whole {
		if breaks[i] {
			b.WriteString(s.group)
		}
		digit(r)
	}
	if frac != "" {
		b.WriteString(s.decimal)
		for _, r := range frac {
			digit(r)
		}
	}
	return b.String()
}

// place is where a locale puts the currency symbol.
type place int

const (
	prefix      place = iota // "€1,234.50"; "CHF 59.90" when the symbol ends with a letter
	prefixSpace              // "R$ 1.234,50"
	suffixSpace              // "1.234,50 €"
)

// symbolPlace follows CLDR's standard currency pattern of each locale; a tag
// not listed takes its nearest listed parent, then prefix.
var symbolPlace = map[string]place{
	"es-419": prefix, "nl": prefixSpace, "pt": prefixSpace, "de-AT": prefixSpace, "de-CH": prefixSpace,
	"de-LI": prefixSpace, "it-CH": prefixSpace,
	"de": suffixSpace, "fr": suffixSpace, "es": suffixSpace, "it": suffixSpace, "pt-PT": suffixSpace,
	"pl": suffixSpace, "sv": suffixSpace, "da": suffixSpace, "fi": suffixSpace, "nb": suffixSpace,
	"nn": suffixSpace, "no": suffixSpace, "cs": suffixSpace, "sk": suffixSpace, "sl": suffixSpace,
	"hr": suffixSpace, "hu": suffixSpace, "ro": suffixSpace, "bg": suffixSpace, "ru": suffixSpace,
	"uk": suffixSpace, "el": suffixSpace, "et": suffixSpace, "lv": suffixSpace, "lt": suffixSpace,
	"is": suffixSpace, "ca": suffixSpace, "vi": suffixSpace,
}

func placeFor(t language.Tag) place {
	for ; t != language.Und; t = t.Parent() {
		if p, ok := symbolPlace[t.String()]; ok {
			return p
		}
	}
	return prefix
}

// symbol is the locale's symbol for a currency code x/text knows, else the
// code.
func (f *formatter) symbol(code string) string {
	if s, ok := f.symbols.Load(code); ok {
		return s.(string)
	}
	sym := code
	if u, err := currency.ParseISO(code); err == nil {
		sym = message.NewPrinter(f.tag).Sprint(currency.Symbol(u))
		sym = strings.ReplaceAll(sym, "￥", "¥")
	}
	f.symbols.Store(code, sym)
	return sym
}

func (f *formatter) money(amount, cur string) string {
	cur = strings.ToUpper(strings.TrimSpace(cur))
	dec, ok := money.Round(amount, cur)
	if !ok {
		return strings.TrimSpace(amount + " " + cur)
	}
	sign := ""
	if strings.HasPrefix(dec, "-") {
		sign, dec = f.num.minus, dec[1:]
	}
	num := f.num.format(dec)
	switch {
	case cur == "":
		return sign + num
	case !money.Known(cur):
		return sign + num + nbsp + cur
	}
	sym := f.symbol(cur)
	switch f.place {
	case prefixSpace:
		return sign + sym + nbsp + num
	case suffixSpace:
		return sign + num + nbsp + sym
	}
	if r, _ := utf8.DecodeLastRuneInString(sym); !unicode.IsSymbol(r) && !unicode.IsSpace(r) {
		return sign + sym + nbsp + num
	}
	return sign + sym + num
}

// dateNames are a language's month and weekday names, as used inside a date
// (CLDR "format" context).
type dateNames struct {
	months, monthsShort     [12]string
	weekdays, weekdaysShort [7]string // Sunday first
}

var dateTables = map[string]*dateNames{
	"es": {
		months:        [12]string{"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		monthsShort:   [12]string{"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"},
		weekdays:      [7]string{"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		weekdaysShort: [7]string{"dom", "lun", "mar", "mié", "jue", "vie", "sáb"},
	},
	"de": {
		months:        [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
		monthsShort:   [12]string{"Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.", "Dez."},
		weekdays:      [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
		weekdaysShort: [7]string{"So.", "Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa."},
	},
	"fr": {
		months:        [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		monthsShort:   [12]string{"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc."},
		weekdays:      [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		weekdaysShort: [7]string{"dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."},
	},
	"it": {
		months:        [12]string{"gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"},
		monthsShort:   [12]string{"gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"},
		weekdays:      [7]string{"domenica", "lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato"},
		weekdaysShort: [7]string{"dom", "lun", "mar", "mer", "gio", "ven", "sab"},
	},
	"pt": {
		months:        [12]string{"janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"},
		monthsShort:   [12]string{"jan.", "fev.", "mar.", "abr.", "mai.", "jun.", "jul.", "ago.", "set.", "out.", "nov.", "dez."},
		weekdays:      [7]string{"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"},
		weekdaysShort: [7]string{"dom.", "seg.", "ter.", "qua.", "qui.", "sex.", "sáb."},
	},
	"nl": {
		months:        [12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"},
		monthsShort:   [12]string{"jan.", "feb.", "mrt.", "apr.", "mei", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "dec."},
		weekdays:      [7]string{"zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"},
		weekdaysShort: [7]string{"zo", "ma", "di", "wo", "do", "vr", "za"},
	},
	"ja": {
		months:        [12]string{"1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"},
		monthsShort:   [12]string{"1月", "2月", "3月", "4月", "5月", "6月", "7月", "8月", "9月", "10月", "11月", "12月"},
		weekdays:      [7]string{"日曜日", "月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日"},
		weekdaysShort: [7]string{"日", "月", "火", "水", "木", "金", "土"},
	},
}

// Date styles as Go layouts whose names are translated (CLDR long, medium
// and short date formats).
var (
	stylesUS    = map[string]string{"long": "January 2, 2006", "medium": "Jan 2, 2006", "short": "1/2/06"}
	stylesCA    = map[string]string{"long": "January 2, 2006", "medium": "Jan 2, 2006", "short": "2006-01-02"}
	stylesEn001 = map[string]string{"long": "2 January 2006", "medium": "2 Jan 2006", "short": "02/01/2006"}
	stylesOther = map[string]string{"long": "2 January 2006", "medium": "2 Jan 2006", "short": "2006-01-02"}
	dateStyles  = map[string]map[string]string{
		"es": {"long": "2 de January de 2006", "medium": "2 Jan 2006", "short": "2/1/06"},
		"de": {"long": "2. January 2006", "medium": "02.01.2006", "short": "02.01.06"},
		"fr": {"long": "2 January 2006", "medium": "2 Jan 2006", "short": "02/01/2006"},
		"it": {"long": "2 January 2006", "medium": "2 Jan 2006", "short": "02/01/06"},
		"pt": {"long": "2 de January de 2006", "medium": "2 de Jan de 2006", "short": "02/01/2006"},
		"nl": {"long": "2 January 2006", "medium": "2 Jan 2006", "short": "02-01-2006"},
		"ja": {"long": "2006年1月2日", "medium": "2006/01/02", "short": "2006/01/02"},
	}
)

// datesFor returns t's names (nil for English) and date styles. English
// follows the US in the US and its territories and the Philippines, Canada
// for long and medium, and en-001 (day first) elsewhere.
func datesFor(t language.Tag) (*dateNames, map[string]string) {
	b, _ := t.Base()
	lang := b.String()
	if lang == "en" {
		r, _ := t.Region()
		switch r.String() {
		case "US", "PR", "VI", "AS", "GU", "MP", "UM", "PH":
			return nil, stylesUS
		case "CA":
			return nil, stylesCA
		}
		return nil, stylesEn001
	}
	if s, ok := dateStyles[lang]; ok {
		return dateTables[lang], s
	}
	return nil, stylesOther
}

// date formats t (in its own location) with a Go layout or a style.
func (f *formatter) date(layout string, t time.Time) string {
	if s, ok := f.styles[layout]; ok {
		layout = s
	}
	if layout == "" {
		layout = "2 Jan 2006"
	}
	if f.names == nil {
		return t.Format(layout)
	}
	// Cut the layout at its month and weekday names: the names come from
	// the table, the rest is formatted by Go.
	var b strings.Builder
	start := 0
	for i := 0; i < len(layout); {
		var name string
		var n int
		switch {
		case strings.HasPrefix(layout[i:], "January"):
			name, n = f.names.months[t.Month()-1], 7
		case strings.HasPrefix(layout[i:], "Jan"):
			name, n = f.names.monthsShort[t.Month()-1], 3
		case strings.HasPrefix(layout[i:], "Monday"):
			name, n = f.names.weekdays[t.Weekday()], 6
		case strings.HasPrefix(layout[i:], "Mon"):
			name, n = f.names.weekdaysShort[t.Weekday()], 3
		default:
			i++
			continue
		}
		if start < i {
			b.WriteString(t.Format(layout[start:i]))
		}
		b.WriteString(name)
		i += n
		start = i
	}
	if start < len(layout) {
		b.WriteString(t.Format(layout[start:]))
	}
	return b.String()
}
