package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// hostileNames are first names that break hand-made headers.
var hostileNames = []string{
	`O"Neil`, `Ana\`, `Smith, John`, `Zoë 😀🛒`, `مريم`, `שָׁלוֹם`, `"Quoted" Name`,
	`a<b>@c.d`, `=?utf-8?q?x?=`, "Line\r\nBcc: evil@evil.example",
}

// hostile sends every step to customers whose names are hostile (each must
// be delivered, its display name intact), to a non-ASCII address (the SMTP
// server offers SMTPUTF8), and to recipients the server refuses with a 550
// that echoes the address. The logs are grepped for all of it afterwards.
func hostile(c *Cluster, tag string) (*scenarioRun, error) {
	o := c.opt
	sr := &scenarioRun{name: "hostile"}
	const store = "hostile"
	type cust struct {
		name, email, phone string
		reject             bool
	}
	var cs []cust
	for i, n := range hostileNames {
		cs = append(cs, cust{name: n, email: fmt.Sprintf("%s.hostile.%02d@example.com", tag, i), phone: fmt.Sprintf("+3460071%04d", i)})
	}
	cs = append(cs, cust{name: "Nico", email: fmt.Sprintf("ñandú.%s@ejemplo.es", tag), phone: "+34600729999"})
	// Refused recipients, echoed by the server: an ASCII address holding
	// the customer's phone digits, a non-ASCII one, and one whose digits
	// come before a non-ASCII letter (an ASCII-only masker leaves them).
	for i, f := range []string{tag + rejectMark + "%s@example.com", "ñandú" + rejectMark + tag + "%.0s@ejemplo.es", "%sñ" + rejectMark + tag + "@ejemplo.es"} {
		ph := fmt.Sprintf("+3460073%04d", i)
		cs = append(cs, cust{name: "Rex", email: fmt.Sprintf(f, strings.TrimPrefix(ph, "+")), phone: ph, reject: true})
	}
	now := time.Now()
	parallel(len(cs), 4, func(i int) {
		cu := cs[i]
		id := fmt.Sprintf("h%03d", i)
		ev := cartEvent("ev-"+id, store, id, cu.email, cu.name, now)
		ev.Customer.Phone = cu.phone
		r, err := c.client.post(ev)
		control := strings.ContainsAny(cu.name, "\r\n")
		if err == nil && control && r.Status == http.StatusBadRequest && strings.Contains(r.Body, "first_name") {
			return // a line break in a name may be refused, naming the field
		}
		if err != nil || r.Status != http.StatusAccepted {
			sr.count(&sr.postsFailed)
			o.logf("hostile: %q/%s answered %d %s %v", cu.name, id, r.Status, r.Body, err)
			return
		}
		p := &cartPlan{Scenario: sr.name, Store: store, ID: id, Email: cu.email, Phone: cu.phone,
			MayFail: cu.reject, MustDeliver: !cu.reject}
		if !control { // what an accepted line break becomes is the service's choice
			p.FirstName = cu.name
		}
		sr.add(p)
	})
	o.logf("hostile: %d carts", len(sr.plans))
	return sr, nil
}
