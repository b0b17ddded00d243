package main

import (
	"bufio"
	"os"
	"strings"
	"unicode"
)

// piiNeedles are what must never appear in a log, matched as written:
// every customer address used, the run tag that begins (or ends) every
// local part — so any log line showing more of one than a mask's first
// character leaks — the first five characters of a local part that does
// not begin with the tag (unless all digits), and every 7-digit run of every phone number.
func piiNeedles(plans []*cartPlan, tag string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	add(tag)
	for _, p := range plans {
		for _, a := range append([]string{p.Email}, p.Stale...) {
			add(a)
			if local, _, ok := strings.Cut(a, "@"); ok && !strings.HasPrefix(local, tag) {
				if r := []rune(local); len(r) >= 5 && strings.IndexFunc(string(r[:5]), unicode.IsLetter) >= 0 {
					add(string(r[:5])) // digits are covered by the phone runs
				}
			}
		}
		var digits []rune
		for _, r := range p.Phone {
			if unicode.IsDigit(r) {
				digits = append(digits, r)
			}
		}
		for i := 0; i+7 <= len(digits); i++ {
			add(string(digits[i : i+7]))
		}
	}
	return out
}

// piiInLogs counts the log lines holding any needle and returns a few.
func piiInLogs(paths []string, needles []string) (int, []string, error) {
	n := 0
	var examples []string
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return n, examples, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			for _, nd := range needles {
				if strings.Contains(line, nd) {
					n++
					if len(examples) < 5 {
						examples = append(examples, path[strings.LastIndex(path, "/")+1:]+": "+sc.Text())
					}
					break
				}
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return n, examples, err
		}
	}
	return n, examples, nil
}
