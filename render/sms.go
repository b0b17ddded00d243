package render

// gsm7 is the GSM 03.38 basic character set; gsm7ext the extension table
// (each costs two septets).
const (
	gsm7    = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7ext = "^{}\\[~]|€\f"
)

var gsm7Set, gsm7ExtSet = runeSet(gsm7), runeSet(gsm7ext)

func runeSet(s string) map[rune]bool {
	m := map[rune]bool{}
	for _, r := range s {
		m[r] = true
	}
	return m
}

// SMSSegments returns how many segments s needs and its encoding: GSM-7 (160
// septets, 153 per part when concatenated) or UCS-2 (70, 67 per part) as soon
// as one character is outside GSM-7.
func SMSSegments(s string) (int, string) {
	septets := 0
	for _, r := range s {
		switch {
		case gsm7Set[r]:
			septets++
		case gsm7ExtSet[r]:
			septets += 2
		default:
			n := 0
			for _, r := range s {
				if r > 0xFFFF {
					n += 2
				} else {
					n++
				}
			}
			return segments(n, 70, 67), "UCS-2"
		}
	}
	return segments(septets, 160, 153), "GSM-7"
}

func segments(n, single, multi int) int {
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
