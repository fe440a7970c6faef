package ceb_test

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/baoguan/baoguan"
	"github.com/baoguan/baoguan/ceb"
)

// The fuzz targets run their seeds in every go test; `go test -fuzz=X
// ./ceb/` explores further. Inputs are bounded by the parsers' own limits
// (MaxReceiptSize, MaxOpenReq), which the targets also check.

func FuzzParseCEB412(f *testing.F) {
	for _, name := range []string{"ceb412_official.xml", "ceb411_plain.xml", "ceb411_official.xml"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add(receipt412(entry(testGUID, "2", "申报中"), entry(otherGUID, "-401009", "参数校验不通过")))
	f.Add(receipt412(entry(testGUID, "120", "&lt;&amp;&gt;<![CDATA[x]]>")))
	f.Add([]byte(`<x:CEB412Message xmlns:x="http://www.chinaport.gov.cn/ceb"><x:PaymentReturn><x:guid>` + testGUID +
		`</x:guid><x:returnStatus> -1 </x:returnStatus></x:PaymentReturn></x:CEB412Message>`))
	f.Add([]byte(`<CEB900Message xmlns="http://www.chinaport.gov.cn/ceb" guid="` + testGUID + `" version="1.0"><MessageReturn><guid>` + testGUID +
		`</guid><returnStatus>-1</returnStatus><returnInfo>x</returnInfo><returnTime>20260315153703001</returnTime><oriMessageType>CEB411Message</oriMessageType><oriBizMessage>&lt;x/&gt;</oriBizMessage></MessageReturn></CEB900Message>`))
	f.Add([]byte(`<?xml version="1.0" encoding="GBK"?><a/>`))
	f.Add([]byte(`<!DOCTYPE a [<!ENTITY b "c">]><a>&b;</a>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rf, err := ceb.ParseReceipt(data)
		if err != nil {
			if baoguan.ErrorCode(err) != baoguan.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if len(data) > ceb.MaxReceiptSize {
			t.Fatalf("read a %d-byte receipt", len(data))
		}
		if len(rf.Returns) == 0 || len(rf.Returns) > 100 {
			t.Fatalf("%d receipts", len(rf.Returns))
		}
		for _, r := range rf.Returns {
			if len(r.GUID) != 36 || r.GUID != strings.ToUpper(r.GUID) {
				t.Fatalf("guid %q", r.GUID)
			}
			if r.Kind != rf.Kind || (r.Kind != ceb.KindPaymentReturn && r.Kind != ceb.KindFormatReturn) {
				t.Fatalf("kind %q in a %q", r.Kind, rf.Kind)
			}
			rec, err := r.Receipt()
			if err == nil && (!rec.State.Valid() || rec.Ref != r.GUID) {
				t.Fatalf("receipt %+v", rec)
			}
			d := ceb.Decide(ceb.Current{State: baoguan.DeclProcessing, GUID: r.GUID, Status: 2}, r)
			if d.Verdict == ceb.Apply && d.To == "" {
				t.Fatal("apply without a state")
			}
		}
	})
}

func FuzzParseOpenReq(f *testing.F) {
	f.Add(`{"orderNo":"202009231454212140210352","sessionID":"032C3F56-0EE6-4558-B548-6C7A3451F07D","serviceTime":"1600852846372"}`)
	f.Add(`{"orderNo":"O1","sessionID":"S","serviceTime":1600852846372}`)
	f.Add(`{"orderNo":"订单\u0000","sessionID":"S","serviceTime":"1e3"}`)
	f.Add(`{"orderNo":"O1","orderNo":"O2","sessionID":"S","serviceTime":"9223372036854775807"}`)
	f.Add(`[1,2,3]`)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ceb.ParseOpenReq(s)
		if err != nil {
			if baoguan.ErrorCode(err) != baoguan.EINVALID || baoguan.ErrorField(err) == "" {
				t.Fatalf("error %v does not name a field", err)
			}
			return
		}
		if len(s) > ceb.MaxOpenReq || r.OrderNo == "" || r.SessionID == "" || r.ServiceTime <= 0 {
			t.Fatalf("accepted %+v from %q", r, s)
		}
		// What was read reads back the same.
		b, _ := json.Marshal(map[string]any{"orderNo": r.OrderNo, "sessionID": r.SessionID, "serviceTime": r.ServiceTime})
		if r2, err := ceb.ParseOpenReq(string(b)); err != nil || r2 != r {
			t.Fatalf("%+v reads back as %+v %v", r, r2, err)
		}
	})
}

// Whatever text the declaration carries, the message either is refused
// with a field error or parses back to the same values (escaping holds).
func FuzzBuildCEB411(f *testing.F) {
	f.Add("ORD20260315001", "张三", "海南省荣誉进出口贸易有限公司", "", int64(19050))
	f.Add("A&B<C>", "O'Neil \"Jr\"", "]]>&amp;", "\r\n\t", int64(1))
	f.Add("X", "\u2028", "\uFFFE", "\x00", int64(-5))
	c := testConfig()
	f.Fuzz(func(t *testing.T, orderNo, payerName, ebpName, note string, amount int64) {
		d := plainDeclaration()
		d.OrderNo, d.Payer.Name, d.EBPName, d.Note, d.Amount = orderNo, payerName, ebpName, note, amount
		msg, err := c.Message(d)
		if err != nil {
			if baoguan.ErrorCode(err) != baoguan.EINVALID || baoguan.ErrorField(err) == "" {
				t.Fatalf("error %v does not name a field", err)
			}
			return
		}
		var m struct {
			Head struct {
				OrderNo    string `xml:"http://www.chinaport.gov.cn/ceb orderNo"`
				PayerName  string `xml:"http://www.chinaport.gov.cn/ceb payerName"`
				EBPName    string `xml:"http://www.chinaport.gov.cn/ceb ebpName"`
				Note       string `xml:"http://www.chinaport.gov.cn/ceb note"`
				AmountPaid string `xml:"http://www.chinaport.gov.cn/ceb amountPaid"`
			} `xml:"http://www.chinaport.gov.cn/ceb Payment>PaymentHead"`
		}
		if err := xml.Unmarshal(msg.XML, &m); err != nil {
			t.Fatalf("built message does not parse: %v\n%s", err, msg.XML)
		}
		h := m.Head
		if h.OrderNo != orderNo || h.PayerName != payerName || h.EBPName != ebpName || h.Note != note || h.AmountPaid != baoguan.FormatYuan(amount) {
			t.Fatalf("values changed on the way: %+v", h)
		}
	})
}

// Whatever text the 179 data carries, the body is JSON that reads back to
// the same values, and the sign string quotes the body's own bytes.
func FuzzPayExInfo(f *testing.F) {
	f.Add(`<xml><a><![CDATA[x]]></a></xml>`, "济州花梨精华面膜", "https://shop.example.com/item?a=1&b=2", "荣誉", int64(500))
	f.Add("\"}\"||\"x", "\\u003c", "\u2028\u2029", "\x7f", int64(1))
	c := testConfig()
	f.Fuzz(func(t *testing.T, raw, gname, link, recpName string, amount int64) {
		o, m := order179()
		o.Payment.InitRequest, o.Items[0].Subject, o.Items[0].Link, m.EBPName, o.Amount = raw, gname, link, recpName, amount
		p := c.PayExInfoFor(ceb.OpenReq{OrderNo: o.MerchantOrderNo, SessionID: "S1"}, o, m, nil, time.UnixMilli(1773560400000))
		s, err := p.SignString()
		if err != nil {
			if baoguan.ErrorCode(err) != baoguan.EINVALID || baoguan.ErrorField(err) == "" {
				t.Fatalf("error %v does not name a field", err)
			}
			return
		}
		p.CertNo, p.SignValue = "03000000000cde6f", "c2ln"
		body, err := p.Body()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ceb.ParsePayExInfo(body)
		if err != nil {
			t.Fatalf("body does not read back: %v\n%s", err, body)
		}
		if back.Head.InitalRequest != raw || back.Lists[0].GoodsInfo[0].Gname != gname || back.Lists[0].GoodsInfo[0].ItemLink != link ||
			back.Lists[0].RecpName != recpName || int64(back.Head.TotalAmount) != amount {
			t.Fatalf("values changed on the way: %+v", back)
		}
		var parts struct{ Head, Lists json.RawMessage }
		if err := json.Unmarshal(body, &struct {
			Head  *json.RawMessage `json:"payExchangeInfoHead"`
			Lists *json.RawMessage `json:"payExchangeInfoLists"`
		}{&parts.Head, &parts.Lists}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s, `"payExchangeInfoHead":"`+string(parts.Head)+`"||`) || !strings.Contains(s, `"payExchangeInfoLists":"`+string(parts.Lists)+`"||`) {
			t.Fatalf("the sign string does not quote the body's bytes:\n%s\n%s", s, body)
		}
	})
}
