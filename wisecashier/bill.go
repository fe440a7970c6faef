package wisecashier

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/baoguan/baoguan"
)

// Bills (§8): GET /download_bill with agent_no, start_date and end_date
// (China dates, both included, at most three months apart) answers a text
// file of the agent's transactions: one PAY line per order of its
// merchants created in the period that was paid, one REFUND line per
// refund created in the period that succeeded, oldest first, then one SUM
// line per currency. docs/protocols/wisecashier.md describes the columns.

// BillColumns are the columns of a bill line, tab-separated.
var BillColumns = []string{"type", "trade_time", "merchant_no", "no", "agent_order_id", "refund_no", "outer_refund_no",
	"trade_type", "pay_method", "currency", "amount", "exchange_rate", "pay_currency", "pay_amount", "status", "product_info"}

// BillMaxSpan is how far apart start_date and end_date may be.
const BillMaxSpan = 3 // months

// parseDate reads a China date as 2006-01-02 or 20060102.
func parseDate(name, v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "20060102"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(v), cst); err == nil {
			return t, nil
		}
	}
	if v == "" {
		return time.Time{}, paramError(name, name+" is required (2006-01-02)")
	}
	return time.Time{}, paramError(name, name+" "+fmt.Sprintf("%q", v)+" is not a date (2006-01-02)")
}

type billLine struct {
	at   time.Time
	cols []string
}

// clean keeps a bill field on its line and in its column.
func clean(s string) string {
	return strings.NewReplacer("\t", " ", "\r", " ", "\n", " ").Replace(s)
}

func (s *Server) bill(prefix string) http.Handler {
	return s.withBase(prefix, func(w http.ResponseWriter, r *http.Request) {
		c, err := s.authenticate(r.Context(), w, r, false)
		if err == nil {
			err = s.writeBill(w, c)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *Server) writeBill(w http.ResponseWriter, c *call) error {
	ctx := c.r.Context()
	if no := c.get("agent_no"); no == "" {
		return paramError("agent_no", "agent_no is required")
	} else if no != c.agent.No {
		return &baoguan.Error{Code: baoguan.EFORBIDDEN, Message: "agent_no " + no + " is not the agent that signed the request (" + c.agent.No + ")"}
	}
	from, err := parseDate("start_date", c.get("start_date"))
	if err != nil {
		return err
	}
	last, err := parseDate("end_date", c.get("end_date"))
	if err != nil {
		return err
	}
	if last.Before(from) {
		return paramError("end_date", "end_date is before start_date")
	}
	to := last.AddDate(0, 0, 1) // end_date is included
	if to.After(from.AddDate(0, BillMaxSpan, 0)) {
		return paramError("end_date", fmt.Sprintf("a bill covers at most %d months: end_date must be before %s", BillMaxSpan, from.AddDate(0, BillMaxSpan, 0).Format("2006-01-02")))
	}
	ms, err := s.svc.AgentMerchants(ctx, c.agent)
	if err != nil {
		return err
	}
	var lines []billLine
	type sum struct {
		pays, refunds       int
		paid, refunded, cny int64
	}
	sums := map[string]*sum{}
	add := func(cur string) *sum {
		if sums[cur] == nil {
			sums[cur] = &sum{}
		}
		return sums[cur]
	}
	for i := range ms {
		m := &ms[i]
		b, err := s.svc.Transactions(ctx, m, from, to)
		if err != nil {
			return err
		}
		for j := range b.Orders {
			o := &b.Orders[j]
			cur, _ := baoguan.LookupCurrency(o.Currency)
			q := s.quote(ctx, m, o)
			lines = append(lines, billLine{o.OrderedAt, []string{"PAY", tradeTime(o), m.No, orderNo(o), agentOrderID(o), "", "",
				tradeType(o), payMethod(o), o.Currency, baoguan.FormatAmount(cur, o.Amount), q.Rate.String(), baoguan.CNY.Code,
				baoguan.FormatYuan(q.CNY), "PAID", clean(o.Subject)}})
			x := add(o.Currency)
			x.pays++
			x.paid += o.Amount
		}
		for j := range b.Refunds {
			r, o := &b.Refunds[j].Refund, b.Refunds[j].Order
			cur, _ := baoguan.LookupCurrency(o.Currency)
			q := s.quote(ctx, m, o)
			lines = append(lines, billLine{r.CreatedAt, []string{"REFUND", r.CreatedAt.In(cst).Format(timeLayout), m.No, orderNo(o),
				agentOrderID(o), refundNo(r), r.MerchantRefundNo, tradeType(o), payMethod(o), o.Currency, baoguan.FormatAmount(cur, r.Amount),
				q.Rate.String(), baoguan.CNY.Code, baoguan.FormatYuan(b.Refunds[j].CNY), refundState(r), clean(o.Subject)}})
			x := add(o.Currency)
			x.refunds++
			x.refunded += r.Amount
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	var b strings.Builder
	b.WriteString(strings.Join(BillColumns, "\t") + "\n")
	for _, l := range lines {
		b.WriteString(strings.Join(l.cols, "\t") + "\n")
	}
	curs := make([]string, 0, len(sums))
	for k := range sums {
		curs = append(curs, k)
	}
	sort.Strings(curs)
	for _, k := range curs {
		x := sums[k]
		cur, _ := baoguan.LookupCurrency(k)
		fmt.Fprintf(&b, "SUM\t%s\tpayments\t%d\t%s\trefunds\t%d\t%s\n", k, x.pays, baoguan.FormatAmount(cur, x.paid), x.refunds, baoguan.FormatAmount(cur, x.refunded))
	}
	name := fmt.Sprintf("bill_%s_%s_%s.txt", c.agent.No, from.Format("20060102"), last.Format("20060102"))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(b.String()))
	return nil
}
