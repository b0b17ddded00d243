package server

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Server-side SVG charts: one value per day, with a y axis of round ticks
// carrying their unit, dated x ticks and axis titles. No script, no
// external request: the page's CSP allows neither.

// chartGeom is a chart's size and plot area, in viewBox units (the SVG
// scales to its card's width): a wide one for screens, a narrow one with
// fewer dates for phones (CSS shows one of them).
type chartGeom struct {
	Class                    string
	W, H                     float64
	Left, Right, Top, Bottom float64
	XTicks                   int
}

var (
	wideChart   = chartGeom{Class: "wide", W: 760, H: 250, Left: 64, Right: 748, Top: 14, Bottom: 196, XTicks: 8}
	narrowChart = chartGeom{Class: "narrow", W: 360, H: 250, Left: 52, Right: 350, Top: 14, Bottom: 196, XTicks: 4}
)

// targetYTickRows is about how many steps the y axis has.
const targetYTickRows = 4

// svgChart is one chart as the template draws it.
type svgChart struct {
	ID, Title      string // ID: data-chart, for the test
	YLabel, XLabel string
	Views          []svgView // wide, narrow
	Series         []svgSeries
	Legend         bool
	Empty          bool
	Note           string
}

// svgView is the chart laid out in one geometry.
type svgView struct {
	chartGeom
	YTicks []svgTick
	XTicks []svgTick
	Series []svgSeries
	Dot    float64 // the radius of a line's dots
}

type svgTick struct {
	At    float64 // y (YTicks) or x (XTicks)
	Label string
}

// svgSeries is one line (with a dot per known value) or one set of bars.
type svgSeries struct {
	Name, Color string
	Bars        bool
	Path        string // the line, "M x y L x y ..." (broken where a day has no value)
	Points      []svgPoint
}

// svgPoint is one day's value: a bar (X, Y, W, H) or a dot (X, Y).
type svgPoint struct {
	Day, Value string // Value: as displayed (data-value)
	X, Y, W, H float64
}

// dayValue is a day's value; ok is false for a day without one (a rate
// with nothing to divide by), drawn as a gap.
type dayValue struct {
	v  float64
	ok bool
}

// chartSeries is a series before layout.
type chartSeries struct {
	name   string
	bars   bool
	values []dayValue
	text   func(float64) string // the point's displayed value
}

var seriesColors = []string{"#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2"}

// layoutChart places the series over days (YYYY-MM-DD) with y ticks from 0
// to a round maximum, each labelled by tick(), in both geometries.
func layoutChart(id, title, ylabel string, days []string, series []chartSeries, tick func(float64) string, integer bool) svgChart {
	c := svgChart{ID: id, Title: title, YLabel: ylabel, XLabel: "day (UTC)", Legend: len(series) > 1}
	peak := 0.0
	for _, s := range series {
		for _, v := range s.values {
			if v.ok {
				peak = math.Max(peak, v.v)
			}
		}
	}
	c.Empty = peak == 0
	step, top := niceScale(peak, targetYTickRows, integer)
	for _, g := range []chartGeom{wideChart, narrowChart} {
		c.Views = append(c.Views, layoutView(g, days, series, step, top, tick))
	}
	c.Series = c.Views[0].Series
	return c
}

func layoutView(g chartGeom, days []string, series []chartSeries, step, top float64, tick func(float64) string) svgView {
	v := svgView{chartGeom: g}
	yAt := func(val float64) float64 {
		if top <= 0 {
			return g.Bottom
		}
		return g.Bottom - (g.Bottom-g.Top)*val/top
	}
	for i := 0.0; i*step <= top+step/2; i++ {
		v.YTicks = append(v.YTicks, svgTick{At: round1(yAt(i * step)), Label: tick(i * step)})
	}
	n := len(days)
	band := (g.Right - g.Left) / float64(max(n, 1))
	every := max((n+g.XTicks-1)/g.XTicks, 1)
	v.Dot = round1(math.Min(3.5, math.Max(band/3, 1)))
	for i := 0; i < n; i += every {
		v.XTicks = append(v.XTicks, svgTick{At: round1(g.Left + band*(float64(i)+0.5)), Label: shortDay(days[i])})
	}
	nbars := 0
	for _, s := range series {
		if s.bars {
			nbars++
		}
	}
	bar := 0
	for si, s := range series {
		out := svgSeries{Name: s.name, Color: seriesColors[si%len(seriesColors)], Bars: s.bars}
		var path strings.Builder
		pen := false
		for i, dv := range s.values {
			if i >= n {
				break
			}
			x := g.Left + band*(float64(i)+0.5)
			if !dv.ok {
				pen = false
				continue
			}
			y := yAt(dv.v)
			p := svgPoint{Day: days[i], Value: s.text(dv.v), X: round1(x), Y: round1(y)}
			if s.bars {
				w := math.Max(band*0.8/float64(nbars), 0.5)
				p.X = round1(x - band*0.4 + float64(bar)*w)
				p.W, p.H = round1(w), round1(g.Bottom-y)
			} else {
				cmd := " L"
				if !pen {
					cmd = " M"
				}
				fmt.Fprintf(&path, "%s%.1f %.1f", cmd, x, y)
				pen = true
			}
			out.Points = append(out.Points, p)
		}
		if s.bars {
			bar++
		}
		out.Path = strings.TrimSpace(path.String())
		v.Series = append(v.Series, out)
	}
	return v
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// niceScale returns a tick step of 1, 2 or 5 times a power of ten and the
// axis maximum (a multiple of it) with about rows steps up to peak. Integer
// scales (counts) step by whole numbers.
func niceScale(peak float64, rows int, integer bool) (step, top float64) {
	if peak <= 0 || math.IsNaN(peak) || math.IsInf(peak, 0) {
		peak = 1
	}
	raw := peak / float64(rows)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * mag
	for _, f := range []float64{1, 2, 2.5, 5, 10} {
		if f*mag >= raw {
			step = f * mag
			break
		}
	}
	if integer && step < 1 {
		step = 1
	}
	top = math.Ceil(peak/step-1e-9) * step
	return step, top
}

// shortDay writes 2026-11-05 as "Nov 5".
func shortDay(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("Jan 2")
}

// tickNumber writes an axis value without useless decimals: 1500, 2.5,
// 0.25; thousands get a thin separator ("12 500").
func tickNumber(v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if len(s) > 8 { // float noise: 0.30000000000000004
		s = strconv.FormatFloat(v, 'f', 2, 64)
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	ip, frac, _ := strings.Cut(s, ".")
	if len(ip) > 4 {
		var b strings.Builder
		for i, r := range ip {
			if i > 0 && (len(ip)-i)%3 == 0 {
				b.WriteRune('\u202f')
			}
			b.WriteRune(r)
		}
		ip = b.String()
	}
	if frac != "" {
		return ip + "." + frac
	}
	return ip
}

// tickPercent writes a rate axis value: 0.25 → "25%".
func tickPercent(v float64) string { return tickNumber(math.Round(v*1000)/10) + "%" }
