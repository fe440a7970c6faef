package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/core"
)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"login", "error", "dashboard", "orders", "order", "batches", "batch", "settings",
	"ops_merchants", "ops_jobs", "ops_declarations", "ops_upstream"}

var funcs = template.FuncMap{
	"yuan": baoguan.FormatYuan,
	// money writes an amount in minor units of its currency: ¥ for CNY
	// (what customs sees), the ISO code after the figure otherwise.
	"money": func(minor int64, currency string) string {
		if currency == "" || currency == "CNY" {
			return "¥" + baoguan.FormatYuan(minor)
		}
		return baoguan.FormatYuan(minor) + " " + currency
	},
	"maskID":    baoguan.MaskID,
	"maskPhone": baoguan.MaskPhone,
	"maskName":  baoguan.MaskName,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "–"
		}
		return t.In(core.ChinaTime).Format("2006-01-02 15:04:05")
	},
	"day":   func(t time.Time) string { return t.In(core.ChinaTime).Format("01-02") },
	"pct":   func(a, b int) int { return pct(a, b) },
	"add":   func(a, b int) int { return a + b },
	"dash":  func(s string) string { return dash(s) },
	"lower": strings.ToLower,
}

func pct(a, b int) int {
	if b <= 0 {
		return 0
	}
	return a * 100 / b
}

func dash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, p := range pageNames {
		out[p] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html"))
	}
	return out
}

// Lang is the language of one response, and its translations.
type Lang struct{ Code string }

// T translates an English phrase; an untranslated phrase shows as is.
func (l Lang) T(s string) string {
	if l.Code == "zh" {
		if z, ok := zh[s]; ok {
			return z
		}
	}
	return s
}

// Other is the language the switch offers.
func (l Lang) Other() string {
	if l.Code == "zh" {
		return "en"
	}
	return "zh"
}

// langOf picks the language: the switch's cookie, else the browser's first
// preference if it is English, else Chinese.
func langOf(r *http.Request) Lang {
	if c, err := r.Cookie(langCookie); err == nil && (c.Value == "en" || c.Value == "zh") {
		return Lang{c.Value}
	}
	al := strings.ToLower(strings.TrimSpace(r.Header.Get("Accept-Language")))
	if strings.HasPrefix(al, "en") {
		return Lang{"en"}
	}
	return Lang{"zh"}
}

// render executes a page in the layout. It renders to a buffer first, so a
// template error becomes a clean 500 instead of half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) {
	headers(w)
	if data == nil {
		data = map[string]any{}
	}
	data["L"] = langOf(r)
	data["Path"] = r.URL.RequestURI()
	data["Page"] = page
	if v := viewerOf(r); v != nil {
		data["Viewer"] = v
		data["CSRF"] = v.Session.CSRF
		if v.Merchant != nil {
			data["Home"] = Prefix + "/m/" + url.PathEscape(v.Merchant.No) + "/"
		} else {
			data["Home"] = Prefix + "/ops/"
		}
	}
	var buf bytes.Buffer
	if err := c.pages[page].Execute(&buf, data); err != nil {
		c.log.Error("console template", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// Charts are drawn on the server as SVG geometry computed here; the
// template only places the shapes.

// Bar is one rectangle of a chart, with its label and tooltip.
type Bar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

// Label is a text placed on a chart.
type Label struct {
	X, Y   float64
	Text   string
	Anchor string
}

// Chart is an SVG drawing.
type Chart struct {
	W, H   int
	Bars   []Bar
	Labels []Label
	Lines  []Label // horizontal grid lines: X unused, Y the height, Text the value
}

// dayChart draws orders (and, inside, paid orders) per day.
func dayChart(l Lang, days []baoguan.DayCount) Chart {
	const w, h, left, bottom, top = 640, 220, 36, 24, 10
	ch := Chart{W: w, H: h}
	max := 1
	for _, d := range days {
		if d.Orders > max {
			max = d.Orders
		}
	}
	max = niceMax(max)
	plotH := float64(h - bottom - top)
	slot := float64(w-left) / float64(len(days))
	for i := 0; i <= 4; i++ {
		v := max * i / 4
		y := float64(top) + plotH - plotH*float64(v)/float64(max)
		ch.Lines = append(ch.Lines, Label{X: left, Y: y, Text: fmt.Sprint(v)})
	}
	for i, d := range days {
		x := float64(left) + slot*float64(i) + slot*0.15
		bw := slot * 0.7
		oh := plotH * float64(d.Orders) / float64(max)
		ph := plotH * float64(d.Paid) / float64(max)
		day := d.Day.In(core.ChinaTime).Format("01-02")
		ch.Bars = append(ch.Bars,
			Bar{X: x, Y: float64(top) + plotH - oh, W: bw, H: oh, Class: "orders", Title: fmt.Sprintf("%s %s %d", day, l.T("orders"), d.Orders)},
			Bar{X: x + bw*0.2, Y: float64(top) + plotH - ph, W: bw * 0.6, H: ph, Class: "paid",
				Title: fmt.Sprintf("%s %s %d (¥%s)", day, l.T("paid"), d.Paid, baoguan.FormatYuan(d.PaidAmount))})
		if i%2 == len(days)%2 || len(days) <= 7 {
			ch.Labels = append(ch.Labels, Label{X: x + bw/2, Y: float64(h - 6), Text: day, Anchor: "middle"})
		}
	}
	return ch
}

// portChart draws one horizontal bar per port: succeeded, failed, waiting.
func portChart(l Lang, ports []baoguan.PortCount) Chart {
	const w, left, rowH = 640, 150, 28
	ch := Chart{W: w, H: rowH*len(ports) + 8}
	max := 1
	for _, p := range ports {
		if t := p.Success + p.Failed + p.Waiting; t > max {
			max = t
		}
	}
	plotW := float64(w - left - 100) // room for the "n / total" label
	for i, p := range ports {
		y := float64(i*rowH + 4)
		x := float64(left)
		for _, part := range []struct {
			n     int
			class string
			name  string
		}{{p.Success, "ok", "succeeded"}, {p.Failed, "fail", "failed"}, {p.Waiting, "wait", "in progress"}} {
			bw := plotW * float64(part.n) / float64(max)
			if part.n > 0 {
				ch.Bars = append(ch.Bars, Bar{X: x, Y: y, W: bw, H: rowH - 8, Class: part.class,
					Title: fmt.Sprintf("%s %s %d", p.Port, l.T(part.name), part.n)})
			}
			x += bw
		}
		ch.Labels = append(ch.Labels,
			Label{X: float64(left - 6), Y: y + 15, Text: p.Port, Anchor: "end"},
			Label{X: x + 6, Y: y + 15, Text: fmt.Sprintf("%d / %d", p.Success, p.Success+p.Failed+p.Waiting), Anchor: "start"})
	}
	return ch
}

// niceMax rounds a chart's top up to a number of four grid steps that
// fall on round values.
func niceMax(n int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{4, 8, 12, 20, 40, 60, 80} {
			if m*p >= n {
				return m * p
			}
		}
	}
}
